import { z } from 'zod';
import type { Clock } from '../clock.js';
import { expiresInSchema, malformedResponse, readJsonResponse, splitScopes } from './atlassian-response.js';
import { sendRequest, type FetchLike } from './send-request.js';

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface JwtBearerTokenRequestInput {
  /** endpoints.impersonationTokenUrl */
  tokenEndpoint: string;
  /** From `createJwtBearerAssertion`. */
  assertion: string;
  /** Connect scope names; upper-cased and space-joined; omitted when empty (Atlassian then uses the app's scopes). */
  scopes?: readonly string[] | undefined;
  fetch: FetchLike;
  signal?: AbortSignal | undefined;
}

/** The access token of a JWT-bearer grant, in our own spelling. */
export interface JwtBearerToken {
  accessToken: string;
  tokenType: 'Bearer';
  /** Milliseconds since the epoch: now + `expires_in` (never a hard-coded lifetime). */
  expiresAt: number;
  /** Present when the server says which scopes it granted. */
  scopes?: string[];
}

/** Upper-cases, splits on whitespace and de-duplicates Connect scope names (AO2 behaviour). */
export function normaliseConnectScopes(scopes: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const s of scopes ?? []) {
    for (const part of s.toUpperCase().split(/\s+/)) if (part !== '' && !out.includes(part)) out.push(part);
  }
  return out;
}

/** application/x-www-form-urlencoded with %20 for spaces (as documented: `scope=READ%20WRITE`). */
function formEncode(fields: ReadonlyArray<readonly [string, string]>): string {
  return fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

/** Sends the JWT-bearer grant (doc §3.1). Returns the raw Response; `processJwtBearerTokenResponse` checks it. */
export function jwtBearerTokenRequest(input: JwtBearerTokenRequestInput): Promise<Response> {
  const fields: Array<[string, string]> = [
    ['grant_type', JWT_BEARER_GRANT_TYPE],
    ['assertion', input.assertion],
  ];
  const scopes = normaliseConnectScopes(input.scopes);
  if (scopes.length > 0) fields.push(['scope', scopes.join(' ')]);
  const init: RequestInit = {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: formEncode(fields),
    redirect: 'error',
  };
  if (input.signal !== undefined) init.signal = input.signal;
  return sendRequest(input.fetch, input.tokenEndpoint, init, 'JWT-bearer token request');
}

/** Wire shape (doc §3.4): `{"access_token":"…","expires_in":900,"token_type":"Bearer"}`. */
const jwtBearerTokenWire = z.object({
  access_token: z.string().min(1),
  expires_in: expiresInSchema,
  token_type: z
    .string()
    .optional()
    .refine((t) => t === undefined || t.toLowerCase() === 'bearer', { message: 'token_type is not Bearer' }),
  scope: z.string().optional(),
});

/**
 * Checks the token endpoint's answer: 2xx with the documented JSON → JwtBearerToken. `invalid_grant` →
 * INVALID_GRANT (description in details, never the assertion); 429/5xx/unparseable → ATLASSIAN_UNAVAILABLE
 * (`retryable: true`); other 4xx or a malformed body → ATLASSIAN_ERROR.
 */
export async function processJwtBearerTokenResponse(response: Response, clock: Clock): Promise<JwtBearerToken> {
  const what = 'JWT-bearer token request';
  const body = await readJsonResponse(response, what, clock);
  const parsed = jwtBearerTokenWire.safeParse(body);
  if (!parsed.success) throw malformedResponse(what, parsed.error);
  const wire = parsed.data;
  const token: JwtBearerToken = {
    accessToken: wire.access_token,
    tokenType: 'Bearer',
    expiresAt: clock.now() + Math.floor(wire.expires_in * 1000),
  };
  const scopes = splitScopes(wire.scope);
  if (scopes !== undefined) token.scopes = scopes;
  return token;
}

import { z } from 'zod';
import type { Clock } from '../clock.js';
import { expiresInSchema, malformedResponse, readJsonResponse, splitScopes } from './atlassian-response.js';
import { sendRequest, type FetchLike } from './send-request.js';

interface TokenRequestBase {
  /** endpoints.tokenUrl, e.g. `https://auth.atlassian.com/oauth/token`. */
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  fetch: FetchLike;
  signal?: AbortSignal | undefined;
}

export interface AuthorizationCodeRequestInput extends TokenRequestBase {
  code: string;
  redirectUri: string;
}

export interface RefreshTokenRequestInput extends TokenRequestBase {
  refreshToken: string;
}

/** A 3LO token set in our own spelling. */
export interface OAuthTokenSet {
  accessToken: string;
  /** Present when `offline_access` was granted; it rotates on every refresh (doc §5.3). */
  refreshToken: string | undefined;
  tokenType: 'Bearer';
  /** Milliseconds since the epoch: now + `expires_in`. */
  expiresAt: number;
  /** The granted scopes; undefined when the server did not say. */
  scopes: string[] | undefined;
}

function postJson(input: TokenRequestBase, body: Record<string, string>, what: string): Promise<Response> {
  const init: RequestInit = {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
    redirect: 'error',
  };
  if (input.signal !== undefined) init.signal = input.signal;
  return sendRequest(input.fetch, input.tokenEndpoint, init, what);
}

/** Exchanges an authorization code (doc §5.2, JSON body). */
export function authorizationCodeRequest(input: AuthorizationCodeRequestInput): Promise<Response> {
  return postJson(
    input,
    {
      grant_type: 'authorization_code',
      client_id: input.clientId,
      client_secret: input.clientSecret,
      code: input.code,
      redirect_uri: input.redirectUri,
    },
    'OAuth authorization-code exchange',
  );
}

/** Refreshes a token (doc §5.2, JSON body). The caller stores the rotated refresh token it gets back. */
export function refreshTokenRequest(input: RefreshTokenRequestInput): Promise<Response> {
  return postJson(
    input,
    {
      grant_type: 'refresh_token',
      client_id: input.clientId,
      client_secret: input.clientSecret,
      refresh_token: input.refreshToken,
    },
    'OAuth refresh',
  );
}

/** Wire shape: `{"access_token","refresh_token","expires_in","scope","token_type"}`. */
const tokenWire = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  expires_in: expiresInSchema,
  scope: z.string().optional(),
  token_type: z
    .string()
    .optional()
    .refine((t) => t === undefined || t.toLowerCase() === 'bearer', { message: 'token_type is not Bearer' }),
});

/**
 * Checks a 3LO token response. `invalid_grant` (including 403 "Unknown or invalid refresh token.") →
 * INVALID_GRANT with a `reason` detail (`refresh_token_invalid`, `token_expired_or_revoked`,
 * `invalid_grant`); 429/5xx/unparseable → ATLASSIAN_UNAVAILABLE (`retryable: true`); other → ATLASSIAN_ERROR.
 */
export async function processTokenResponse(response: Response, clock: Clock): Promise<OAuthTokenSet> {
  const what = 'OAuth token request';
  const body = await readJsonResponse(response, what, clock);
  const parsed = tokenWire.safeParse(body);
  if (!parsed.success) throw malformedResponse(what, parsed.error);
  const wire = parsed.data;
  return {
    accessToken: wire.access_token,
    refreshToken: wire.refresh_token,
    tokenType: 'Bearer',
    expiresAt: clock.now() + Math.floor(wire.expires_in * 1000),
    scopes: splitScopes(wire.scope),
  };
}

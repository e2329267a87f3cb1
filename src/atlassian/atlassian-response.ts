import { z } from 'zod';
import type { Clock } from '../clock.js';
import { GatewayError, type ErrorDetails } from '../errors.js';
import { parseRetryAfter } from './parse-retry-after.js';
import { readBodyText } from './send-request.js';

/**
 * Shared checks for responses from Atlassian's auth servers and identity APIs: status → error code,
 * RFC 6749 error bodies, JSON parsing. No token, assertion, secret or whole Response ever goes into an
 * error: only the status, the RFC 6749 `error` code and a sanitised `error_description`.
 */

const MAX_JSON_BYTES = 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;
const MAX_DESCRIPTION_CHARS = 300;

const oauthErrorBody = z.object({
  error: z.string().optional(),
  error_description: z.string().optional(),
});

/**
 * Makes a server-provided description safe to log: capped, and anything that looks like a JWT or a long
 * opaque token is replaced, in case a server echoes what we sent.
 */
export function sanitiseDescription(text: string): string {
  return text
    .replace(/[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, '[redacted]')
    .replace(/[A-Za-z0-9_\-+/=]{32,}/g, '[redacted]')
    .slice(0, MAX_DESCRIPTION_CHARS);
}

/** Why an `invalid_grant` happened, as far as the description tells (doc §5.3). */
export type InvalidGrantReason = 'refresh_token_invalid' | 'token_expired_or_revoked' | 'invalid_grant';

function invalidGrantReason(description: string | undefined): InvalidGrantReason {
  if (description === undefined) return 'invalid_grant';
  if (/unknown or invalid refresh token/i.test(description)) return 'refresh_token_invalid';
  if (/expired or revoked/i.test(description)) return 'token_expired_or_revoked';
  return 'invalid_grant';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Turns a non-2xx response into the right GatewayError (and consumes its body). */
export async function errorFromResponse(response: Response, what: string, clock: Clock): Promise<GatewayError> {
  const status = response.status;
  const text = (await readBodyText(response, MAX_ERROR_BYTES).catch(() => undefined)) ?? '';
  const parsed = oauthErrorBody.safeParse(parseJson(text));
  const error = parsed.success ? parsed.data.error : undefined;
  const rawDescription = parsed.success ? parsed.data.error_description : undefined;
  const description = rawDescription === undefined ? undefined : sanitiseDescription(rawDescription);

  const details: Record<string, ErrorDetails[string]> = { status };
  if (error !== undefined) details.error = error.slice(0, 100);
  if (description !== undefined) details.description = description;

  if (error === 'invalid_grant' && status >= 400 && status < 500) {
    details.reason = invalidGrantReason(description);
    details.retryable = false;
    return new GatewayError('INVALID_GRANT', `${what}: the grant was refused (invalid_grant).`, { details });
  }
  if (status === 429 || status >= 500) {
    details.reason = status === 429 ? 'rate_limited' : 'server_error';
    details.retryable = true;
    const retryAfterMs = parseRetryAfter(response.headers, clock);
    if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
    return new GatewayError('ATLASSIAN_UNAVAILABLE', `${what}: Atlassian answered HTTP ${status}.`, { details });
  }
  details.reason = status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'rejected';
  details.retryable = false;
  return new GatewayError('ATLASSIAN_ERROR', `${what}: Atlassian refused the request (HTTP ${status}).`, { details });
}

/**
 * Checks the status and parses a JSON body. Non-2xx → `errorFromResponse`; a 2xx whose body is not JSON
 * (a proxy's HTML page, a cut-off body) → ATLASSIAN_UNAVAILABLE with `retryable: true`.
 */
export async function readJsonResponse(response: Response, what: string, clock: Clock): Promise<unknown> {
  if (!response.ok) throw await errorFromResponse(response, what, clock);
  let text: string | undefined;
  try {
    text = await readBodyText(response, MAX_JSON_BYTES);
  } catch (e) {
    throw new GatewayError('ATLASSIAN_UNAVAILABLE', `${what}: the response body could not be read.`, {
      details: { reason: 'unreadable_body', status: response.status, retryable: true },
      cause: e,
    });
  }
  if (text === undefined) {
    throw new GatewayError('ATLASSIAN_ERROR', `${what}: the response body is too large.`, {
      details: { reason: 'body_too_large', status: response.status, retryable: false },
    });
  }
  const value = parseJson(text);
  if (value === undefined) {
    throw new GatewayError('ATLASSIAN_UNAVAILABLE', `${what}: the response is not JSON.`, {
      details: { reason: 'unparseable_body', status: response.status, retryable: true },
    });
  }
  return value;
}

/** A 2xx JSON body that does not have the documented shape. Lists the failing fields, never values. */
export function malformedResponse(what: string, error: z.ZodError): GatewayError {
  const fields = [...new Set(error.issues.map((i) => i.path.join('.') || '(root)'))].slice(0, 10);
  return new GatewayError('ATLASSIAN_ERROR', `${what}: the response does not have the expected shape.`, {
    details: { reason: 'malformed_response', fields, retryable: false },
  });
}

/** `expires_in` may come as a number or a numeric string; it must be a positive, finite number of seconds. */
export const expiresInSchema = z.union([z.number(), z.string().regex(/^\d+(\.\d+)?$/).transform(Number)]).pipe(
  z.number().positive(),
);

/** Splits an OAuth `scope` string on whitespace. */
export function splitScopes(scope: string | undefined): string[] | undefined {
  if (scope === undefined) return undefined;
  return scope.split(/\s+/).filter((s) => s !== '');
}

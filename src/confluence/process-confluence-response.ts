import type { Clock } from '../clock.js';
import { GatewayError, type ErrorCode, type ErrorDetails } from '../errors.js';
import { parseRetryAfter } from '../atlassian/parse-retry-after.js';
import { readBodyText } from '../atlassian/send-request.js';

const MAX_ERROR_BODY = 64 * 1024;
const MAX_MESSAGE = 500;

/** Which GatewayError code a Confluence status becomes. One table, tested. */
export function errorCodeForStatus(status: number): ErrorCode {
  if (status === 400) return 'BAD_REQUEST';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'ATLASSIAN_UNAVAILABLE';
  // 401 after the one forced refresh (revoked grant, scope mismatch), 3xx not followed, other 4xx.
  return 'ATLASSIAN_ERROR';
}

const clip = (s: string): string => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s);

/**
 * Confluence's own words from an error body: v2 `{"errors":[{status,code,title,detail}]}`, v1
 * `{"statusCode"|"code", "message"}`. Only these fields are kept; never headers, never the request.
 */
export function confluenceErrorDetails(body: unknown): { message: string | null; errors?: { code: string | null; title: string | null; detail: string | null }[] } {
  if (typeof body !== 'object' || body === null) return { message: null };
  const o = body as Record<string, unknown>;
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? clip(v) : null);
  if (Array.isArray(o['errors']) && o['errors'].length > 0) {
    const errors = o['errors'].slice(0, 5).map((e) => {
      const r = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
      return { code: str(r['code']), title: str(r['title']), detail: str(r['detail']) };
    });
    const first = errors[0]!;
    return { message: first.detail ?? first.title ?? first.code, errors };
  }
  return { message: str(o['message']) ?? str(o['errorMessage']) };
}

/**
 * Turns a non-2xx Confluence response into a GatewayError (status and Confluence's message in
 * details). `what` names the operation for the message, e.g. `GET /api/v2/pages/{id}`.
 */
export async function confluenceError(response: Response, what: string, clock?: Clock): Promise<GatewayError> {
  let parsed: unknown = null;
  const type = response.headers.get('content-type') ?? '';
  const text = await readBodyText(response, MAX_ERROR_BODY).catch(() => undefined);
  if (text !== undefined && /json/i.test(type)) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  const { message, errors } = confluenceErrorDetails(parsed);
  const code = errorCodeForStatus(response.status);
  const details: Record<string, ErrorDetails[string]> = { status: response.status, operation: what, message };
  if (errors) details['errors'] = errors;
  if (response.status === 429 && clock) {
    const ms = parseRetryAfter(response.headers, clock);
    if (ms !== undefined) details['retryAfterMs'] = ms;
  }
  if (response.status === 401 && message !== null && /scope/i.test(message)) details['reason'] = 'scope_mismatch';
  return new GatewayError(code, `Confluence answered ${response.status} to ${what}${message ? `: ${message}` : '.'}`, { details });
}

/** Reads a 2xx JSON body, or throws `confluenceError`. The send half is `client.fetch`. */
export async function processConfluenceResponse(response: Response, what: string, clock?: Clock): Promise<unknown> {
  if (!response.ok) throw await confluenceError(response, what, clock);
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new GatewayError('ATLASSIAN_ERROR', `Confluence answered ${what} with a body that is not JSON.`, {
      details: { status: response.status, operation: what, reason: 'invalid_json' },
      cause: e,
    });
  }
}

/** For wire-shape checks: a response that is JSON but not what we expected. */
export function unexpectedShape(what: string, field: string): GatewayError {
  return new GatewayError('ATLASSIAN_ERROR', `Confluence answered ${what} with an unexpected shape (${field}).`, { details: { operation: what, reason: 'unexpected_shape', field } });
}

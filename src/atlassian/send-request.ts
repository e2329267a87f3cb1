import { GatewayError } from '../errors.js';

/** The one fetch shape we depend on; the global `fetch` fits, and tests pass small functions. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

function isTimeoutError(e: unknown): boolean {
  return e instanceof Error && e.name === 'TimeoutError';
}

/**
 * Calls the injected fetch once. A caller's own abort propagates unchanged; a timeout signal becomes
 * ATLASSIAN_TIMEOUT; any other failure (DNS, refused, reset) becomes ATLASSIAN_UNAVAILABLE with
 * `retryable: true`. The request (which may carry secrets) never goes into the error; `cause` is kept.
 */
export async function sendRequest(fetch: FetchLike, url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    throw sendError(e, init, what);
  }
}

/** What `sendRequest` throws for a failed fetch: the caller's own abort unchanged, else a GatewayError. */
export function sendError(e: unknown, init: RequestInit, what: string): unknown {
  if (isTimeoutError(e) || (isAbortError(e) && isTimeoutError(init.signal?.reason))) {
    return new GatewayError('ATLASSIAN_TIMEOUT', `${what}: the request timed out.`, {
      details: { reason: 'timeout', retryable: true },
      cause: e,
    });
  }
  if (isAbortError(e)) return e;
  return new GatewayError('ATLASSIAN_UNAVAILABLE', `${what}: the request could not be sent.`, {
    details: { reason: 'network_error', retryable: true },
    cause: e,
  });
}

/** Reads at most `maxBytes` of a body as UTF-8; undefined when it is larger (the rest is cancelled). */
export async function readBodyText(response: Response, maxBytes: number): Promise<string | undefined> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

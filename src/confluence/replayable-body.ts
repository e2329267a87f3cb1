import { GatewayError } from '../errors.js';

export type RequestBody = RequestInit['body'];

/**
 * A request body that can be sent more than once (retries, the 401 refresh, a 307/308 redirect).
 * - `none`: no body.
 * - `bytes`: string, ArrayBuffer, typed arrays, DataView, URLSearchParams, FormData and Blob are read
 *   once into bytes, with the Content-Type fetch would have set for them (FormData keeps its boundary).
 *   Later changes to the caller's object do not leak into a retry.
 * - `stream`: a ReadableStream (or async iterable) is passed through untouched and sent exactly once:
 *   such a request is never retried, never refreshed after a 401 and never follows a redirect that
 *   would resend the body. Buffer the body yourself if you want retries.
 */
export type ReplayableBody =
  | { kind: 'none' }
  | { kind: 'bytes'; bytes: Uint8Array; contentType: string | null }
  | { kind: 'stream'; body: NonNullable<RequestBody> };

function isStreamLike(body: unknown): boolean {
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) return true;
  if (typeof body !== 'object' || body === null) return false;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return false;
  if (body instanceof URLSearchParams || body instanceof FormData || body instanceof Blob) return false;
  return Symbol.asyncIterator in body || typeof (body as { getReader?: unknown }).getReader === 'function';
}

export async function toReplayableBody(body: RequestBody, method: string): Promise<ReplayableBody> {
  if (body === undefined || body === null) return { kind: 'none' };
  if (method === 'GET' || method === 'HEAD') {
    throw new GatewayError('BAD_REQUEST', `A ${method} request cannot have a body.`, { details: { reason: 'body_not_allowed', method } });
  }
  if (isStreamLike(body)) return { kind: 'stream', body };
  // Let the platform serialise it exactly as fetch would (FormData boundary, URLSearchParams encoding).
  const probe = new Request('http://body.invalid/', { method: 'POST', body });
  const bytes = new Uint8Array(await probe.arrayBuffer());
  return { kind: 'bytes', bytes, contentType: probe.headers.get('content-type') };
}

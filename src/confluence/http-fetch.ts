import { takeWholeBytes } from './whole-response.js';

export { responseHeaderList } from './whole-response.js';
import { createUndiciFetch } from './undici-fetch.js';

export type { HttpFetch, HttpFetchOptions } from './fetch-request.js';

/**
 * The act-as clients' transport: `fetch`'s contract for what the act-as client sends (string or URL
 * input, any method, headers, byte/string/URLSearchParams/ReadableStream bodies, `redirect: 'manual'`, a
 * 3xx answered as it is, `signal`, transparent gzip/deflate/br decoding when the caller set no
 * Accept-Encoding, failures as `TypeError('fetch failed', { cause })`) over kept-alive connection pools
 * per origin; anything else (a Request object, redirects followed, Blob or FormData bodies, other
 * schemes) goes to the fallback fetch. A body of known size up to 64 KiB is read before the promise
 * resolves and answered as a WholeResponse (whole-response.ts); larger or chunked bodies stream.
 *
 * The engine is undici's `Agent`, one `dispatch` per request (undici-fetch.ts, undici-exchange.ts). On a
 * small GET it costs the app process about half the CPU of a bare node:http request with a kept-alive
 * agent, with the same contract and tests as the node:http transport used before (node-http-fetch.ts;
 * docs/benchmarks.md, sessions 7 and 8).
 */
export const createHttpFetch = createUndiciFetch;

/**
 * The bytes of a body this transport read whole (known size up to 64 KiB), straight from the buffer
 * instead of through the Response's stream; undefined for any other response. Handed out once: the
 * caller takes the body instead of reading the Response (the proxy, which writes it out as it is).
 */
export function takeWholeBody(response: Response): Uint8Array | undefined {
  return takeWholeBytes(response);
}

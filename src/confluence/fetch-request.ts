import type { OutgoingHttpHeaders } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate, constants as zlib } from 'node:zlib';

/**
 * What both act-as transports (node:http and undici) take from fetch's arguments, checked as fetch checks
 * them: one place, so the two cannot drift apart while they are compared (docs/benchmarks.md, session 7).
 */
export type SendBody = { kind: 'none' } | { kind: 'bytes'; bytes: Uint8Array; contentType: string | null } | { kind: 'stream'; stream: ReadableStream<Uint8Array> };

function bodyOf(body: RequestInit['body']): SendBody | null {
  if (body === undefined || body === null) return { kind: 'none' };
  if (typeof body === 'string') return { kind: 'bytes', bytes: Buffer.from(body, 'utf8'), contentType: 'text/plain;charset=UTF-8' };
  if (body instanceof Uint8Array) return { kind: 'bytes', bytes: body, contentType: null };
  if (body instanceof ArrayBuffer) return { kind: 'bytes', bytes: new Uint8Array(body), contentType: null };
  if (ArrayBuffer.isView(body)) return { kind: 'bytes', bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), contentType: null };
  if (body instanceof URLSearchParams) return { kind: 'bytes', bytes: Buffer.from(body.toString(), 'utf8'), contentType: 'application/x-www-form-urlencoded;charset=UTF-8' };
  if (body instanceof ReadableStream) return { kind: 'stream', stream: body as ReadableStream<Uint8Array> };
  return null; // Blob, FormData, async iterables: rare here, left to the fallback
}

function isPlainRecord(h: RequestInit['headers']): h is Record<string, string> {
  if (h === undefined || h === null || typeof h !== 'object' || Array.isArray(h)) return false;
  const proto = Object.getPrototypeOf(h) as unknown;
  return proto === Object.prototype || proto === null;
}

export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

export interface HttpFetchOptions {
  /** Connections kept per origin (default 256); requests beyond wait for a free one. */
  maxSocketsPerOrigin?: number;
  /** An idle kept-alive connection is closed after this long (default 4 s, under common server keep-alive timeouts). */
  idleSocketMs?: number;
  /** A connection that carries nothing for this long while a request waits or a body streams fails the request (default 300 s, as undici's fetch). */
  idleTimeoutMs?: number;
  /** Certificate authorities to trust for https:// instead of Node's bundled ones (a private CA in front of Atlassian, tests). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Used for what this transport does not take itself (a Request object, redirect other than `manual`, FormData/Blob bodies). Default: the global fetch. */
  fallback?: typeof fetch;
}

/** A fetch with its own connection pools; `close()` ends their idle connections (in-flight requests finish). */
export type HttpFetch = typeof fetch & { close(): void };

/** Bodies answered whole, before the returned promise resolves: one buffer instead of a stream per call. */
export const SMALL_BODY_BYTES = 64 * 1024;
export const NO_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/** The decoder for a Content-Encoding fetch decodes, or null (identity or unknown: passed through). */
export function decoder(encoding: string | undefined): NodeJS.ReadWriteStream | null {
  // Lenient like browsers and undici: a truncated gzip/brotli stream yields what it had instead of an error.
  const flush = { flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH };
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip(flush);
    case 'deflate':
      return createInflate(flush);
    case 'br':
      return createBrotliDecompress({ flush: zlib.BROTLI_OPERATION_FLUSH, finishFlush: zlib.BROTLI_OPERATION_FLUSH });
    default:
      return null;
  }
}

export interface PreparedRequest {
  url: URL;
  secure: boolean;
  /** Upper-case. */
  method: string;
  /** Lower-case names; Accept-Encoding, Content-Type and Content-Length as fetch would add them. */
  headers: OutgoingHttpHeaders;
  body: Exclude<SendBody, null>;
  signal: AbortSignal | undefined;
  /** The caller chose the encoding, so the answer is passed through as it came (not decoded). */
  hasAcceptEncoding: boolean;
}

/** For the fallback fetch: a Request object, redirects other than `manual`, Blob/FormData bodies, other schemes. */
export const FALLBACK = { fallback: true } as const;
export type Refused = { refused: unknown };
const refuse = (error: unknown): Refused => ({ refused: error });

/**
 * The request the transports send, FALLBACK for what they leave to the fallback fetch, or the error fetch
 * would reject with (nothing is sent then).
 */
export function prepareRequest(input: string | URL | Request, init: RequestInit): PreparedRequest | typeof FALLBACK | Refused {
  if (typeof input !== 'string' && !(input instanceof URL)) return FALLBACK;
  const redirect = init.redirect ?? 'follow';
  const body = bodyOf(init.body);
  let url: URL;
  try {
    url = typeof input === 'string' ? new URL(input) : input;
  } catch (cause) {
    return refuse(new TypeError(`Failed to parse URL from ${String(input)}`, { cause }));
  }
  // fetch refuses credentials in a URL rather than sending (or silently dropping) them.
  if (url.username !== '' || url.password !== '') return refuse(new TypeError('Request cannot be constructed from a URL that includes credentials'));
  const secure = url.protocol === 'https:';
  if (redirect !== 'manual' || body === null || (!secure && url.protocol !== 'http:')) return FALLBACK;
  const signal = init.signal ?? undefined;
  if (signal?.aborted) return refuse(abortError(signal));
  const method = (init.method ?? 'GET').toUpperCase();
  if ((method === 'GET' || method === 'HEAD') && body.kind !== 'none') return refuse(new TypeError('Request with GET/HEAD method cannot have body.'));

  const headers: OutgoingHttpHeaders = {};
  let hasContentType = false;
  let hasAcceptEncoding = false;
  const take = (value: string, name: string): void => {
    const prior = headers[name];
    headers[name] = prior === undefined ? value : `${String(prior)}, ${value}`;
    if (name === 'content-type') hasContentType = true;
    else if (name === 'accept-encoding') hasAcceptEncoding = true;
  };
  const given = init.headers;
  if (isPlainRecord(given)) {
    // The act-as client's own shape: no Headers object to build and walk. Names are lower-cased and
    // values trimmed as Headers would; node:http itself refuses an invalid name or value (a TypeError).
    for (const name of Object.keys(given)) take(String(given[name]).trim(), name.toLowerCase());
  } else {
    try {
      (given instanceof Headers ? given : new Headers(given)).forEach(take);
    } catch (e) {
      return refuse(e);
    }
  }
  if (!hasAcceptEncoding) headers['accept-encoding'] = 'gzip, deflate, br';
  if (body.kind === 'bytes') {
    if (!hasContentType && body.contentType !== null) headers['content-type'] = body.contentType;
    headers['content-length'] = body.bytes.byteLength;
  } else if (body.kind === 'none' && method !== 'GET' && method !== 'HEAD') {
    headers['content-length'] = 0;
  }

  return { url, secure, method, headers, body, signal, hasAcceptEncoding };
}

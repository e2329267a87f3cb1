import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, constants as zlib } from 'node:zlib';

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

/** Bodies read whole before the returned promise resolves, by the Response that carries them. */
const wholeBodies = new WeakMap<Response, Uint8Array>();

/**
 * The bytes of a body this transport read whole (known size up to 64 KiB), straight from the buffer
 * instead of through the Response's stream; undefined for any other response. Handed out once: the
 * caller takes the body instead of reading the Response (the proxy, which writes it out as it is).
 */
export function takeWholeBody(response: Response): Uint8Array | undefined {
  const bytes = wholeBodies.get(response);
  if (bytes !== undefined) wholeBodies.delete(response);
  return bytes;
}

/** Bodies answered whole, before the returned promise resolves: one buffer instead of a stream per call. */
const SMALL_BODY_BYTES = 64 * 1024;
const NO_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

type SendBody = { kind: 'none' } | { kind: 'bytes'; bytes: Uint8Array; contentType: string | null } | { kind: 'stream'; stream: ReadableStream<Uint8Array> };

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

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function decoder(encoding: string | undefined): NodeJS.ReadWriteStream | null {
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

/**
 * `fetch` over node:http/node:https with kept-alive connection pools per origin: the transport of the
 * act-as clients. On a small GET, undici's fetch spends about twice the CPU of this (and three times that
 * of a bare node:http request), most of it in WHATWG stream and header machinery, and on a 2-core
 * machine that CPU is what bounds the proxy and embedded throughput (docs/benchmarks.md).
 *
 * It keeps fetch's contract for what the act-as client sends: string or URL input, any method, headers,
 * byte/string/URLSearchParams/ReadableStream bodies, `redirect: 'manual'` (a 3xx is answered as it is),
 * `signal`, transparent gzip/deflate/br decoding when the caller set no Accept-Encoding, and failures as
 * `TypeError('fetch failed', { cause })`. Anything else (a Request object, redirects followed, Blob or
 * FormData bodies, other schemes) goes to the fallback fetch. A response body of known size up to 64 KiB
 * is read before the promise resolves and handed over as one buffer; larger or chunked bodies stream.
 * `response.url` and `redirected` are not set (a constructed Response cannot carry them).
 */
export function createHttpFetch(options: HttpFetchOptions = {}): HttpFetch {
  const fallback = options.fallback ?? globalThis.fetch;
  const agentOptions = { keepAlive: true, maxSockets: options.maxSocketsPerOrigin ?? 256, timeout: options.idleSocketMs ?? 4000, scheduling: 'lifo' as const };
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent({ ...agentOptions, ...(options.ca !== undefined ? { ca: options.ca } : {}) });

  const httpFetch = ((input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    if (typeof input !== 'string' && !(input instanceof URL)) return fallback(input, init);
    const redirect = init.redirect ?? 'follow';
    const body = bodyOf(init.body);
    let url: URL;
    try {
      url = typeof input === 'string' ? new URL(input) : input;
    } catch (cause) {
      return Promise.reject(new TypeError(`Failed to parse URL from ${String(input)}`, { cause }));
    }
    // fetch refuses credentials in a URL rather than sending (or silently dropping) them.
    if (url.username !== '' || url.password !== '') return Promise.reject(new TypeError('Request cannot be constructed from a URL that includes credentials'));
    const secure = url.protocol === 'https:';
    if (redirect !== 'manual' || body === null || (!secure && url.protocol !== 'http:')) return fallback(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const method = (init.method ?? 'GET').toUpperCase();
    if ((method === 'GET' || method === 'HEAD') && body.kind !== 'none') return Promise.reject(new TypeError('Request with GET/HEAD method cannot have body.'));

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
        return Promise.reject(e);
      }
    }
    if (!hasAcceptEncoding) headers['accept-encoding'] = 'gzip, deflate, br';
    if (body.kind === 'bytes') {
      if (!hasContentType && body.contentType !== null) headers['content-type'] = body.contentType;
      headers['content-length'] = body.bytes.byteLength;
    } else if (body.kind === 'none' && method !== 'GET' && method !== 'HEAD') {
      headers['content-length'] = 0;
    }

    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown): void => {
        if (settled) return;
        settled = true;
        unlisten();
        reject(e);
      };
      const done = (response: Response): void => {
        settled = true;
        resolve(response);
      };
      let req: ClientRequest | undefined;
      const onAbort = (): void => {
        const reason = abortError(signal as AbortSignal);
        fail(reason);
        req?.destroy(reason instanceof Error ? reason : undefined);
      };
      const unlisten = (): void => signal?.removeEventListener('abort', onAbort);
      signal?.addEventListener('abort', onAbort, { once: true });
      const networkError = (cause: unknown): unknown => (signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause }));

      const attempt = (isRetry: boolean): void => {
        let r: ClientRequest;
        try {
          r = (secure ? httpsRequest : httpRequest)({
            hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
            port: url.port || undefined,
            path: `${url.pathname}${url.search}`,
            method,
            headers,
            agent: secure ? httpsAgent : httpAgent,
          });
        } catch (e) {
          // node:http refuses an invalid header name or value here, before anything is sent (a TypeError).
          return fail(e);
        }
        req = r;
        let answered = false;
        // Without this a stalled upstream would hold the request (and a streaming body) open for ever.
        r.setTimeout(idleTimeoutMs, () => r.destroy(new Error(`no data for ${idleTimeoutMs} ms`)));
        r.once('error', (e: NodeJS.ErrnoException) => {
          // A kept-alive connection the server closed just as it was reused fails before any answer; the
          // request never reached the server, so it is sent once more on a fresh connection (Node's advice).
          if (!answered && !isRetry && r.reusedSocket && e.code === 'ECONNRESET' && body.kind !== 'stream' && !settled) return attempt(true);
          fail(networkError(e));
        });
        r.once('response', (res: IncomingMessage) => {
          answered = true;
          if (settled) return void res.destroy();
          const status = res.statusCode ?? 0;
          const responseHeaders = new Headers();
          const raw = res.rawHeaders;
          for (let i = 0; i + 1 < raw.length; i += 2) responseHeaders.append(raw[i] as string, raw[i + 1] as string);
          const responseInit = { status, statusText: res.statusMessage ?? '', headers: responseHeaders };
          if (method === 'HEAD' || NO_BODY_STATUSES.has(status)) {
            unlisten();
            res.resume();
            return done(new Response(null, responseInit));
          }
          const decode = hasAcceptEncoding ? null : decoder(res.headers['content-encoding']);
          const length = Number(res.headers['content-length']);
          if (decode === null && Number.isInteger(length) && length <= SMALL_BODY_BYTES) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.once('end', () => {
              unlisten();
              if (settled) return;
              const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
              const response = new Response(bytes, responseInit);
              wholeBodies.set(response, bytes);
              done(response);
            });
            res.once('error', (e) => fail(networkError(e)));
            res.once('aborted', () => fail(networkError(new Error('the connection closed before the body ended'))));
            return;
          }
          let stream: Readable = res;
          if (decode !== null) {
            stream = res.pipe(decode) as unknown as Readable;
            res.once('error', (e) => stream.destroy(e));
          }
          stream.once('close', unlisten);
          done(new Response(Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>, responseInit));
        });
        if (body.kind === 'bytes') r.end(body.bytes);
        else if (body.kind === 'stream') {
          const source = Readable.fromWeb(body.stream as import('node:stream/web').ReadableStream<Uint8Array>);
          source.once('error', (e) => r.destroy(e));
          source.pipe(r);
        } else r.end();
      };
      attempt(false);
    });
  }) as HttpFetch;
  httpFetch.close = () => {
    httpAgent.destroy();
    httpsAgent.destroy();
  };
  return httpFetch;
}

import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { abortError, decoder, NO_BODY_STATUSES, prepareRequest, SMALL_BODY_BYTES, type HttpFetch, type HttpFetchOptions } from './fetch-request.js';
import { nodeToWeb } from './node-to-web.js';
import { WholeResponse } from './whole-response.js';

/**
 * `fetch` over node:http/node:https with kept-alive connection pools per origin: the act-as clients'
 * transport until session 7, kept while it is measured against the undici one that replaced it
 * (docs/benchmarks.md); the same contract (createHttpFetch in http-fetch.ts), the same tests.
 *
 * It keeps fetch's contract for what the act-as client sends: string or URL input, any method, headers,
 * byte/string/URLSearchParams/ReadableStream bodies, `redirect: 'manual'` (a 3xx is answered as it is),
 * `signal`, transparent gzip/deflate/br decoding when the caller set no Accept-Encoding, and failures as
 * `TypeError('fetch failed', { cause })`. Anything else (a Request object, redirects followed, Blob or
 * FormData bodies, other schemes) goes to the fallback fetch. A response body of known size up to 64 KiB
 * is read before the promise resolves and handed over as one buffer; larger or chunked bodies stream.
 * `response.url` and `redirected` are not set (a constructed Response cannot carry them).
 */
export function createNodeHttpFetch(options: HttpFetchOptions = {}): HttpFetch {
  const fallback = options.fallback ?? globalThis.fetch;
  const agentOptions = { keepAlive: true, maxSockets: options.maxSocketsPerOrigin ?? 256, timeout: options.idleSocketMs ?? 4000, scheduling: 'lifo' as const };
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent({ ...agentOptions, ...(options.ca !== undefined ? { ca: options.ca } : {}) });

  const httpFetch = ((input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const prepared = prepareRequest(input, init);
    if ('fallback' in prepared) return fallback(input, init);
    if ('refused' in prepared) return Promise.reject(prepared.refused);
    const { url, secure, method, headers, body, signal, hasAcceptEncoding } = prepared;

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
          const statusText = res.statusMessage ?? '';
          if (method === 'HEAD' || NO_BODY_STATUSES.has(status)) {
            unlisten();
            res.resume();
            return done(new WholeResponse(status, statusText, res.rawHeaders, null) as unknown as Response);
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
              done(new WholeResponse(status, statusText, res.rawHeaders, bytes) as unknown as Response);
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
          const headers = new Headers();
          const raw = res.rawHeaders;
          for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
          done(new Response(nodeToWeb(stream), { status, statusText, headers }));
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

import { Readable } from 'node:stream';
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { abortError, prepareRequest, type HttpFetch, type HttpFetchOptions } from './fetch-request.js';
import { exchange, ExchangeFailed } from './undici-exchange.js';

/** The codes of undici's errors for a request it refused before sending (a bad header name or value, ...). */
const REFUSED_BEFORE_SENDING = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

/**
 * The same transport as createHttpFetch (same contract, same options) over undici's `Agent`, the HTTP/1.1
 * engine under Node's own fetch without its WHATWG layers, each request one `dispatch` (undici-exchange.ts);
 * measured against the node:http one in docs/benchmarks.md (sessions 7 and 8).
 */
export function createUndiciFetch(options: HttpFetchOptions = {}): HttpFetch {
  const fallback = options.fallback ?? globalThis.fetch;
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  const idleSocketMs = options.idleSocketMs ?? 4000;
  const agent = new Agent({
    connections: options.maxSocketsPerOrigin ?? 256,
    keepAliveTimeout: idleSocketMs,
    // A server's Keep-Alive hint may shorten the idle time, never lengthen it past ours.
    keepAliveMaxTimeout: idleSocketMs,
    headersTimeout: idleTimeoutMs,
    bodyTimeout: idleTimeoutMs,
    ...(options.ca !== undefined ? { connect: { ca: options.ca } } : {}),
  });

  const undiciFetch = ((input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const prepared = prepareRequest(input, init);
    if ('fallback' in prepared) return fallback(input, init);
    if ('refused' in prepared) return Promise.reject(prepared.refused);
    const { url, method, headers, body, signal, hasAcceptEncoding } = prepared;
    const send = (isRetry: boolean): Promise<Response> => {
      const requestOptions: Dispatcher.DispatchOptions = {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: method as Dispatcher.HttpMethod,
        headers: headers as Record<string, string>,
        body: body.kind === 'bytes' ? body.bytes : body.kind === 'stream' ? Readable.fromWeb(body.stream as import('node:stream/web').ReadableStream<Uint8Array>) : null,
      };
      return exchange(agent, requestOptions, { method, hasAcceptEncoding, signal }).catch((failed: unknown) => {
          if (!(failed instanceof ExchangeFailed)) throw failed;
          const e = failed.error;
          if (signal?.aborted) throw abortError(signal);
          const code = (e as { code?: string } | null)?.code;
          if (code !== undefined && REFUSED_BEFORE_SENDING.has(code)) throw new TypeError((e as Error).message, { cause: e });
          // A kept-alive connection the server closed just as it was reused fails before any answer; undici
          // says so with a socket error and nothing read. Sent once more on a fresh connection, as the
          // node:http transport does; a streamed body cannot be sent again.
          if (!isRetry && body.kind !== 'stream' && e instanceof undiciErrors.SocketError && (e.socket?.bytesRead ?? 0) === 0) return send(true);
          throw new TypeError('fetch failed', { cause: e });
        });
    };
    return send(false);
  }) as HttpFetch;
  undiciFetch.close = () => {
    void agent.destroy().catch(() => undefined);
  };
  return undiciFetch;
}

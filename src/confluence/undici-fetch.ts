import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import { abortError, decoder, NO_BODY_STATUSES, prepareRequest, SMALL_BODY_BYTES, type HttpFetch, type HttpFetchOptions } from './fetch-request.js';

import { WholeResponse } from './whole-response.js';

/** undici's parsed headers as the name/value list a WholeResponse takes (each Set-Cookie its own pair). */
function pairs(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === 'string') out.push(name, value);
    else if (Array.isArray(value)) for (const v of value) out.push(name, v);
  }
  return out;
}

/** The codes of undici's errors for a request it refused before sending (a bad header name or value, ...). */
const REFUSED_BEFORE_SENDING = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

/**
 * The same transport as createHttpFetch (same contract, same options) over undici's `Agent.request`, the
 * HTTP/1.1 engine under Node's own fetch without its WHATWG layers: an alternative measured against the
 * node:http one (docs/benchmarks.md, session 7).
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
      const requestOptions: Dispatcher.RequestOptions = {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: method as Dispatcher.HttpMethod,
        headers: headers as Record<string, string>,
        body: body.kind === 'bytes' ? body.bytes : body.kind === 'stream' ? Readable.fromWeb(body.stream as import('node:stream/web').ReadableStream<Uint8Array>) : null,
        ...(signal !== undefined ? { signal } : {}),
      };
      return agent.request(requestOptions).then(
        (res) => answer(res, method, hasAcceptEncoding, signal),
        (e: unknown) => {
          if (signal?.aborted) throw abortError(signal);
          const code = (e as { code?: string } | null)?.code;
          if (code !== undefined && REFUSED_BEFORE_SENDING.has(code)) throw new TypeError((e as Error).message, { cause: e });
          // A kept-alive connection the server closed just as it was reused fails before any answer; undici
          // says so with a socket error and nothing read. Sent once more on a fresh connection, as the
          // node:http transport does; a streamed body cannot be sent again.
          if (!isRetry && body.kind !== 'stream' && e instanceof undiciErrors.SocketError && (e.socket?.bytesRead ?? 0) === 0) return send(true);
          throw new TypeError('fetch failed', { cause: e });
        },
      );
    };
    return send(false);
  }) as HttpFetch;
  undiciFetch.close = () => {
    void agent.destroy().catch(() => undefined);
  };
  return undiciFetch;
}

function answer(res: Dispatcher.ResponseData, method: string, hasAcceptEncoding: boolean, signal: AbortSignal | undefined): Promise<Response> | Response {
  const status = res.statusCode;
  const statusText = res.statusText ?? '';
  if (method === 'HEAD' || NO_BODY_STATUSES.has(status)) {
    res.body.resume();
    return new WholeResponse(status, statusText, pairs(res.headers), null) as unknown as Response;
  }
  const decode = hasAcceptEncoding ? null : decoder(res.headers['content-encoding'] as string | undefined);
  const length = Number(res.headers['content-length']);
  if (decode === null && Number.isInteger(length) && length <= SMALL_BODY_BYTES) {
    return new Promise<Response>((resolve, reject) => {
      const chunks: Buffer[] = [];
      res.body.on('data', (c: Buffer) => chunks.push(c));
      res.body.once('error', (e) => reject(signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause: e })));
      res.body.once('end', () => {
        const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        resolve(new WholeResponse(status, statusText, pairs(res.headers), bytes) as unknown as Response);
      });
    });
  }
  let stream: Readable = res.body;
  if (decode !== null) {
    stream = res.body.pipe(decode) as unknown as Readable;
    res.body.once('error', (e) => stream.destroy(e));
  }
  const headers = new Headers();
  const list = pairs(res.headers);
  for (let i = 0; i + 1 < list.length; i += 2) headers.append(list[i] as string, list[i + 1] as string);
  return new Response(Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>, { status, statusText, headers });
}

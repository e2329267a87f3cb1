import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { abortError, decoder, NO_BODY_STATUSES, SMALL_BODY_BYTES } from './fetch-request.js';
import { nodeToWeb } from './node-to-web.js';
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

/** Why an exchange failed before any answer: the transport decides whether to send again and what to throw. */
export class ExchangeFailed extends Error {
  constructor(readonly error: unknown) {
    super('exchange failed before an answer', { cause: error });
  }
}

export interface ExchangeOptions {
  method: string;
  /** The caller chose the encoding: the body is passed on as it came. */
  hasAcceptEncoding: boolean;
  signal: AbortSignal | undefined;
}

/**
 * One request over undici's `dispatch` with a handler of our own, the answer as a `Response`: a small
 * body of known size read whole (a WholeResponse, resolved once the body has ended), anything larger or
 * unsized as a stream with backpressure (resolved once the headers are in). `agent.request` does the same
 * through an async resource and a body stream per request, which cost a fifth of a small GET's transport
 * CPU (docs/benchmarks.md, session 8). Rejects with ExchangeFailed when no answer came (undici's error in
 * it), or with the signal's reason when the caller aborted.
 */
export function exchange(dispatcher: Dispatcher, request: Dispatcher.DispatchOptions, options: ExchangeOptions): Promise<Response> {
  const { method, hasAcceptEncoding, signal } = options;
  return new Promise<Response>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let done = false;
    let status = 0;
    let statusText = '';
    let headerList: string[] = [];
    let chunks: Buffer[] | null = null;
    let stream: Readable | null = null;

    const finish = (): void => {
      done = true;
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (e: unknown): void => {
      finish();
      if (stream !== null) {
        stream.destroy(e instanceof Error ? e : new Error(String(e)));
      } else if (!settled) {
        settled = true;
        reject(signal?.aborted ? abortError(signal) : chunks !== null ? new TypeError('fetch failed', { cause: e }) : new ExchangeFailed(e));
      }
    };
    function onAbort(): void {
      const reason = abortError(signal as AbortSignal);
      // Queued requests get their controller only when a connection takes them; they stop then.
      controller?.abort(reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError'));
      fail(reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (signal?.aborted) c.abort(new DOMException('This operation was aborted', 'AbortError'));
      },
      onResponseStart(c, statusCode, headers, statusMessage) {
        status = statusCode;
        statusText = statusMessage ?? '';
        headerList = pairs(headers);
        if (method === 'HEAD' || NO_BODY_STATUSES.has(status)) {
          // The connection still reads (and drops) whatever body comes: nothing of it is ours.
          settled = true;
          resolve(new WholeResponse(status, statusText, headerList, null) as unknown as Response);
          return;
        }
        const decode = hasAcceptEncoding ? null : decoder(headers['content-encoding'] as string | undefined);
        const length = Number(headers['content-length']);
        if (decode === null && Number.isInteger(length) && length <= SMALL_BODY_BYTES) {
          chunks = [];
          return;
        }
        const raw = new Readable({
          read: () => c.resume(),
          destroy: (err, callback) => {
            // The reader went away (or the body failed): stop reading from the connection.
            if (!done) c.abort(err ?? new DOMException('The body was not read to the end', 'AbortError'));
            callback(err);
          },
        });
        stream = raw;
        let body: Readable = raw;
        if (decode !== null) {
          body = raw.pipe(decode) as unknown as Readable;
          raw.once('error', (e) => body.destroy(e));
        }
        const h = new Headers();
        for (let i = 0; i + 1 < headerList.length; i += 2) h.append(headerList[i] as string, headerList[i + 1] as string);
        settled = true;
        resolve(new Response(nodeToWeb(body), { status, statusText, headers: h }));
      },
      onResponseData(c, chunk) {
        if (chunks !== null) chunks.push(chunk);
        else if (stream !== null && !stream.push(chunk)) c.pause();
      },
      onResponseEnd() {
        finish();
        if (stream !== null) {
          stream.push(null);
        } else if (chunks !== null && !settled) {
          settled = true;
          const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
          resolve(new WholeResponse(status, statusText, headerList, bytes) as unknown as Response);
        }
      },
      onResponseError(_c, err) {
        fail(err);
      },
    };
    try {
      dispatcher.dispatch(request, handler);
    } catch (e) {
      fail(e);
    }
  });
}

import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { nodeToWeb } from '../../confluence/node-to-web.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../metrics.js';
import { recordRequest } from '../middleware/access-log.js';
import { errorAnswer } from '../middleware/error-handler.js';
import { acceptRequestId } from '../middleware/request-id.js';
import { SECURITY_HEADERS } from '../security-headers.js';
import { isApiKeyRefusal, type ApiKeyCheck } from './api-key-auth.js';
import { PROXY_PREFIX, type ProxyCall } from './proxy-call.js';
import type { HeaderSource, ProxyAnswer, ProxyRequest } from './proxy.js';

/** The route pattern the Hono app serves the proxy under: the metrics label of both. */
export const PROXY_ROUTE = `${PROXY_PREFIX}:externalUserId/:site/*`;

/** The methods the Hono app routes to the proxy (HEAD as GET, as Hono does). */
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Whether the Hono app would route this path to the proxy: `/v1/act/<user>/<site>` with both segments
 * non-empty, then the end or `/<api path>`. Anything else is left to the app, so both answer it alike.
 */
function isProxyPath(pathname: string): boolean {
  if (!pathname.startsWith(PROXY_PREFIX)) return false;
  const first = pathname.indexOf('/', PROXY_PREFIX.length);
  if (first <= PROXY_PREFIX.length) return false;
  const second = pathname.indexOf('/', first + 1);
  return second < 0 ? pathname.length > first + 1 : second > first + 1;
}

/** node's request headers as the proxy reads them: every pair as received, no Headers object built. */
class NodeHeaders implements HeaderSource {
  readonly #req: IncomingMessage;
  constructor(req: IncomingMessage) {
    this.#req = req;
  }
  get raw(): readonly string[] {
    return this.#req.rawHeaders;
  }
  get(name: string): string | null {
    const v = this.#req.headers[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
  forEach(each: (value: string, name: string) => void): void {
    const raw = this.#req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) each(raw[i + 1] as string, raw[i] as string);
  }
}

function requestOf(req: IncomingMessage, method: string): ProxyRequest {
  const headers = new NodeHeaders(req);
  let body: ReadableStream<Uint8Array> | null | undefined;
  return {
    method,
    headers,
    // Made only for methods that carry a body (the proxy never reads it for GET or HEAD).
    get body() {
      body ??= nodeToWeb(req);
      return body;
    },
  };
}

/** The answer's headers as node writes them, with the gateway's own added where the answer has none. */
function outgoing(pairs: readonly (readonly [string, string])[], requestId: string): OutgoingHttpHeader[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [name, value] of pairs) {
    out.push(name, value);
    seen.add(name.toLowerCase());
  }
  for (const [name, value] of SECURITY_HEADERS) if (!seen.has(name)) out.push(name, value);
  if (!seen.has('x-request-id')) out.push('x-request-id', requestId);
  return out;
}

export interface ProxyListenerDeps {
  checkApiKey: ApiKeyCheck;
  proxyCall: ProxyCall;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The act-as proxy served straight from node:http, in front of the Hono app: every proxied call is the
 * gateway's hot path, and the app's web Request, Headers and Response objects around it cost more CPU
 * than all of its checks together (docs/benchmarks.md, session 8). It does what the app does for this
 * route, from the same functions: request id, API key and rate limit (the same buckets), the proxy call
 * (site limit, acting decision, forward, activity), the error envelope, security headers, the access log
 * and metrics. Returns false for a request that is not a proxy call, which the app then serves.
 */
export type ProxyListener = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createProxyListener(deps: ProxyListenerDeps): ProxyListener {
  const { checkApiKey, proxyCall, logger, metrics } = deps;
  return (req, res) => {
    const method = req.method ?? '';
    const rawTarget = req.url ?? '';
    if (!METHODS.has(method) || !rawTarget.includes(PROXY_PREFIX)) return false;
    let url: URL;
    try {
      url = new URL(rawTarget, 'http://gateway.invalid');
    } catch {
      return false;
    }
    if (!isProxyPath(url.pathname)) return false;
    const started = performance.now();
    const requestId = acceptRequestId(req.headers['x-request-id'] as string | undefined);
    const done = (status: number): void =>
      recordRequest(logger, metrics, { method, route: PROXY_ROUTE, status, started, url: () => `http://${req.headers.host ?? 'localhost'}${rawTarget}`, requestId });
    serve(req, res, method, url, rawTarget, requestId).then(done, () => {
      // Only a failure to write the refusal itself lands here: the socket is all that is left to end.
      res.destroy();
      done(500);
    });
    return true;
  };

  async function serve(req: IncomingMessage, res: ServerResponse, method: string, url: URL, rawTarget: string, requestId: string): Promise<number> {
    let refusalHeaders: Readonly<Record<string, string>> = {};
    try {
      const key = await checkApiKey(req.headers.authorization);
      if (isApiKeyRefusal(key)) {
        refusalHeaders = key.headers;
        throw key.error;
      }
      return write(res, method, await proxyCall({ key, url, rawTarget, request: requestOf(req, method), requestId }), requestId);
    } catch (e) {
      return refuse(res, e, requestId, refusalHeaders);
    }
  }

  function write(res: ServerResponse, method: string, answer: ProxyAnswer, requestId: string): number {
    const headers = outgoing(answer.headers, requestId);
    const body = answer.body;
    if (body === null || method === 'HEAD') {
      res.writeHead(answer.status, headers);
      res.end();
      if (body instanceof ReadableStream) void body.cancel().catch(() => undefined);
    } else if (body instanceof Uint8Array) {
      headers.push('content-length', String(body.byteLength));
      res.writeHead(answer.status, headers);
      res.end(body);
    } else {
      res.writeHead(answer.status, headers);
      // An upstream that fails mid-body ends the answer abruptly (the caller sees a cut connection, not a
      // body that looks whole); a caller that goes away cancels the upstream read (and frees its connection).
      pipeline(Readable.fromWeb(body as unknown as NodeReadableStream<Uint8Array>), res, () => undefined);
    }
    return answer.status;
  }

  function refuse(res: ServerResponse, e: unknown, requestId: string, extra: Readonly<Record<string, string>>): number {
    const answer = errorAnswer(e, requestId, logger);
    if (res.headersSent) {
      res.destroy();
      return answer.status;
    }
    const pairs: [string, string][] = Object.entries(extra);
    if (answer.retryAfter !== undefined) pairs.push(['Retry-After', answer.retryAfter]);
    pairs.push(['content-type', 'application/json']);
    const json = Buffer.from(JSON.stringify(answer.body));
    const headers = outgoing(pairs, requestId);
    headers.push('content-length', String(json.byteLength));
    res.writeHead(answer.status, headers);
    res.end(json);
    return answer.status;
  }
}

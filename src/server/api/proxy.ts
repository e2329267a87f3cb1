import { GatewayError } from '../../errors.js';
import type { ActAsClient } from '../../confluence/create-act-as-client.js';
import { responseHeaderList, takeWholeBody } from '../../confluence/http-fetch.js';
import { readBodyLimited, tooLarge } from './read-input.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded in either direction. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** Plus what only one side of the proxy may set. Exported for bench/proxy's lean forwarder. */
export const DROP_REQUEST: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'authorization',
  'cookie',
  'host',
  'content-length',
  'accept-encoding',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
]);
/** The response body is re-framed (and already decompressed by fetch), so its framing headers go too. */
export const DROP_RESPONSE: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'content-length',
  'content-encoding',
  'set-cookie',
]);

/** What the proxy reads of an incoming request's headers: a web Headers object, or node's raw headers. */
export interface HeaderSource {
  /** The value (repeated headers joined with ", "), or null. */
  get(name: string): string | null;
  /** Every header as received: name, value, name, value, ... (node's rawHeaders shape). */
  readonly raw?: readonly string[];
  forEach(each: (value: string, name: string) => void): void;
}

/** A header list as name, value, name, value, ... (node's rawHeaders shape), from either kind of source. */
export function rawHeaderList(headers: HeaderSource): readonly string[] {
  if (headers.raw !== undefined) return headers.raw;
  const out: string[] = [];
  headers.forEach((value, name) => out.push(name, value));
  return out;
}

/** The header names a Connection header (there may be several) names as hop-by-hop; null when there is none. */
function connectionTokens(raw: readonly string[]): Set<string> | null {
  let named: Set<string> | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i] as string;
    if (k.length !== 10 || k.toLowerCase() !== 'connection') continue;
    named ??= new Set();
    for (const t of (raw[i + 1] as string).split(',')) {
      const token = t.trim().toLowerCase();
      if (token !== '') named.add(token);
    }
  }
  return named;
}

/**
 * The headers sent on to Atlassian: lower-case names (a repeated header joined with ", ", as Headers
 * does), without hop-by-hop, credential and forwarding headers.
 */
export function forwardRequestHeaders(raw: readonly string[]): Record<string, string> {
  const named = connectionTokens(raw);
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (DROP_REQUEST.has(name) || named?.has(name) || name.startsWith('proxy-')) continue;
    const prior = out[name];
    out[name] = prior === undefined ? (raw[i + 1] as string) : `${prior}, ${raw[i + 1] as string}`;
  }
  return out;
}

/** The headers passed back to the caller, as pairs (each repeated header its own pair). */
export function forwardResponseHeaders(raw: readonly string[]): [string, string][] {
  const named = connectionTokens(raw);
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (DROP_RESPONSE.has(name) || named?.has(name) || name.startsWith('proxy-')) continue;
    out.push([name, raw[i + 1] as string]);
  }
  return out;
}

const SMALL_RESPONSE_BYTES = 64 * 1024;

/** Set on every proxied answer; absent on the gateway's own errors. */
export const UPSTREAM_MARKER = 'X-Onbehalf-Upstream';

export interface ProxyTarget {
  externalUserId: string;
  site: string;
  /** Path and query relative to the site's API base, as written (`/api/v2/pages?limit=5`). */
  apiPath: string;
}

const SCHEME_SEGMENT = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

function decodeSegment(s: string, name: string): string {
  let v: string;
  try {
    v = decodeURIComponent(s);
  } catch {
    throw new GatewayError('BAD_REQUEST', `The ${name} in the proxy path is not valid percent-encoding.`, { details: { reason: 'malformed_percent_encoding' } });
  }
  if (v === '') throw new GatewayError('BAD_REQUEST', `The proxy path needs a ${name}: /v1/act/<externalUserId>/<site>/<api path>.`, { details: { reason: `missing_${name}` } });
  return v;
}

/**
 * Refuses a request target (as the client sent it, before any URL parsing) with a dot segment in its path.
 * The HTTP server resolves `.` and `..` (also `%2e` spellings, as WHATWG URL does) before routing, so
 * `/v1/act/u/acme/api/v2/spaces/../../../../globex/wiki/...` would otherwise arrive as a request for the
 * site `globex`: the user, the site and the API path must be exactly the ones written.
 */
export function assertNoDotSegments(rawTarget: string | undefined): void {
  if (rawTarget === undefined) return;
  const q = rawTarget.search(/[?#]/);
  const path = q < 0 ? rawTarget : rawTarget.slice(0, q);
  // Most paths have no dot at all: nothing to split.
  if (!path.includes('.') && !/%2e/i.test(path)) return;
  for (const segment of path.split('/')) {
    const bare = segment.toLowerCase().replace(/%2e/g, '.');
    if (bare === '.' || bare === '..') {
      throw new GatewayError('FORBIDDEN', 'The proxy path may not contain "." or ".." segments: name the user, site and API path as they are.', { details: { reason: 'dot_segment' } });
    }
  }
}

/**
 * Splits `/v1/act/<externalUserId>/<site>/<api path>` as written on the wire (percent-encoding kept, so
 * `%2F` in the API path is still visible to the act-as client's checks). An API path that looks like a
 * URL of its own (`/http://x`, `//x`) is refused outright, although the client would keep it on the
 * site's origin anyway.
 */
export function parseProxyPath(url: URL, prefix: string): ProxyTarget {
  const pathname = url.pathname;
  if (!pathname.startsWith(prefix)) throw new GatewayError('NOT_FOUND', 'Not a proxy path.');
  const rest = pathname.slice(prefix.length);
  const first = rest.indexOf('/');
  const second = first < 0 ? -1 : rest.indexOf('/', first + 1);
  if (first < 0 || second < 0) throw new GatewayError('BAD_REQUEST', 'The proxy path is /v1/act/<externalUserId>/<site>/<api path>.', { details: { reason: 'missing_api_path' } });
  const externalUserId = decodeSegment(rest.slice(0, first), 'externalUserId');
  const site = decodeSegment(rest.slice(first + 1, second), 'site');
  const apiPath = rest.slice(second);
  if (apiPath === '/' || apiPath === '') throw new GatewayError('BAD_REQUEST', 'Name the Confluence API path after the site, e.g. /v1/act/u1/acme/api/v2/spaces.', { details: { reason: 'missing_api_path' } });
  if (apiPath.startsWith('//')) throw new GatewayError('FORBIDDEN', 'The API path must be a path under the site, not a URL.', { details: { reason: 'scheme_relative_url' } });
  if (SCHEME_SEGMENT.test(apiPath.slice(1))) throw new GatewayError('FORBIDDEN', 'The API path must be a path under the site, not a URL.', { details: { reason: 'absolute_url' } });
  return { externalUserId, site, apiPath: apiPath + url.search };
}

export interface ProxyOptions {
  /** Bodies up to this size are buffered, so a 429 retry or the 401 refresh can resend them. */
  bufferBytes: number;
  /** Larger bodies stream through; above this size the request is refused (413). */
  maxBodyBytes: number;
}

export const DEFAULT_PROXY_OPTIONS: ProxyOptions = { bufferBytes: 1024 * 1024, maxBodyBytes: 64 * 1024 * 1024 };

/**
 * Reads a body until it ends or passes `limit` bytes. `rest` is null when it ended (all of it is in
 * `bytes`); otherwise `rest` is the whole body again, the part already read first, so nothing is lost.
 */
async function readUpTo(body: ReadableStream<Uint8Array>, limit: number): Promise<{ bytes: Uint8Array; rest: ReadableStream<Uint8Array> | null }> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.byteLength;
      }
      return { bytes, rest: null };
    }
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) break;
  }
  const rest = new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      const first = chunks.shift();
      if (first) return controller.enqueue(first);
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { bytes: new Uint8Array(0), rest };
}

/** A stream that errors once more than `max` bytes went through; `exceeded()` tells why it failed. */
function limitStream(body: ReadableStream<Uint8Array>, max: number): { stream: ReadableStream<Uint8Array>; exceeded: () => boolean } {
  let size = 0;
  let over = false;
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > max) {
          over = true;
          controller.error(tooLarge(max));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
  return { stream, exceeded: () => over };
}

/** The request as the proxy reads it: a web Request fits, and so does the proxy listener's view of node's. */
export interface ProxyRequest {
  readonly method: string;
  readonly headers: HeaderSource;
  /** Read only for methods that carry a body. */
  readonly body: ReadableStream<Uint8Array> | null;
}

/** Confluence's answer as the proxy passes it on: status, filtered headers (pairs), and the body. */
export interface ProxyAnswer {
  status: number;
  headers: [string, string][];
  /** Bytes for a small answer of known size; a stream otherwise; null when there is no body. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
}

/**
 * Forwards one request through an act-as client and answers with the upstream response, streaming both
 * ways. The client decides where the credential may go (only the site's API origin and base path, no
 * redirects elsewhere) and retries 429s as configured; anything else comes back as Atlassian sent it,
 * minus hop-by-hop and cookie headers.
 */
export async function forwardRaw(client: ActAsClient, target: ProxyTarget, req: ProxyRequest, options: ProxyOptions = DEFAULT_PROXY_OPTIONS): Promise<ProxyAnswer> {
  const method = req.method.toUpperCase();
  const headers = forwardRequestHeaders(rawHeaderList(req.headers));
  let body: Uint8Array | ReadableStream<Uint8Array> | undefined;
  let exceeded = (): boolean => false;
  const incoming = method !== 'GET' && method !== 'HEAD' ? req.body : null;
  if (incoming) {
    const declared = req.headers.get('content-length');
    const size = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined;
    if (size !== undefined && size > options.maxBodyBytes) throw tooLarge(options.maxBodyBytes);
    if (size !== undefined && size <= options.bufferBytes) {
      const bytes = await readBodyLimited({ headers: req.headers, body: incoming }, options.bufferBytes);
      body = bytes.byteLength > 0 ? bytes : undefined;
    } else {
      // Unknown (chunked) or large: a body that ends within bufferBytes is still buffered (so it can be
      // resent after a 429 or a token refresh); a longer one streams on, its first part included.
      const head = await readUpTo(incoming, options.bufferBytes);
      if (head.rest === null) {
        body = head.bytes.byteLength > 0 ? head.bytes : undefined;
      } else {
        const limited = limitStream(head.rest, options.maxBodyBytes);
        body = limited.stream;
        exceeded = limited.exceeded;
      }
    }
  }
  let upstream: Response;
  try {
    upstream = await client.fetch(target.apiPath, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (e) {
    if (exceeded()) throw tooLarge(options.maxBodyBytes);
    throw e;
  }
  if (exceeded()) {
    // The upstream saw a body cut short; whatever it answered is about that, not about the request.
    await upstream.body?.cancel().catch(() => undefined);
    throw tooLarge(options.maxBodyBytes);
  }
  const noBody = method === 'HEAD' || upstream.status === 204 || upstream.status === 304;
  const out = forwardResponseHeaders(responseHeaderList(upstream));
  // Tells clients (the SDK) a Confluence answer from the gateway's own refusals, which use the envelope.
  out.push([UPSTREAM_MARKER, 'confluence']);
  // No statusText: the HTTP server writes the standard reason phrase anyway, and reading it from the
  // transport's lightweight Response would build a full one (a web stream per call, profiled).
  if (noBody) {
    await upstream.body?.cancel().catch(() => undefined);
    return { status: upstream.status, headers: out, body: null };
  }
  // A small answer of known size is passed on whole (one write instead of a stream pump); anything else
  // streams. The act-as transport read a small body whole already: its bytes are taken as they are, not
  // read back through the Response's stream (which costs a web stream per call).
  const whole = takeWholeBody(upstream);
  if (whole !== undefined) return { status: upstream.status, headers: out, body: whole };
  const size = Number(upstream.headers.get('content-length') ?? NaN);
  const payload = Number.isInteger(size) && size <= SMALL_RESPONSE_BYTES ? new Uint8Array(await upstream.arrayBuffer()) : upstream.body;
  return { status: upstream.status, headers: out, body: payload };
}

/** forwardRaw's answer as a web Response (the Hono route's). */
export function answerResponse(answer: ProxyAnswer): Response {
  // As a Uint8Array, not an ArrayBuffer: the HTTP server then writes it out directly instead of wrapping
  // it in a stream and reading that back (profiled).
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

/** forwardRaw for a web Request, answered as a web Response. */
export async function forward(client: ActAsClient, target: ProxyTarget, req: ProxyRequest, options: ProxyOptions = DEFAULT_PROXY_OPTIONS): Promise<Response> {
  return answerResponse(await forwardRaw(client, target, req, options));
}

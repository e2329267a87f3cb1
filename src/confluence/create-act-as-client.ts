import type { Clock } from '../clock.js';
import { GatewayError, isGatewayError } from '../errors.js';
import { parseRetryAfter } from '../atlassian/parse-retry-after.js';
import { retryDelay } from '../atlassian/retry-delay.js';
import { shouldRetry, type RetryReason } from '../atlassian/should-retry.js';
import { sendError } from '../atlassian/send-request.js';
import { assertTarget, parseApiBase, resolveApiTarget, resolveRedirectTarget, type ApiBase } from './resolve-target.js';
import { toReplayableBody, type ReplayableBody } from './replayable-body.js';

/** What the credential source is asked for, once before every request the client sends. */
export interface CredentialRequest {
  /**
   * `true` only for the single retry after a 401: skip any cache and get a new credential. A bearer
   * broker refreshes its token; a per-request signer may ignore it.
   */
  forceFresh: boolean;
  /**
   * With `forceFresh`: the `Authorization` value the 401 answered. Concurrent calls through one client
   * may hold different credentials, so only this one is known to be refused.
   */
  rejected?: string;
  /** Upper-case HTTP method about to be sent. */
  method: string;
  /** The absolute URL about to be called (always the API base's origin, under its path). */
  url: string;
  /**
   * Path and query relative to the API base, as sent (`/rest/api/content?limit=5`). This is what a
   * Connect `asApp()` JWT's qsh covers (the product's context path, e.g. `/wiki`, stripped).
   */
  apiPath: string;
}

/** The `Authorization` header value: `Bearer <token>`, `JWT <token>` or `Basic <...>`. */
export interface Credential {
  authorization: string;
}

/**
 * The broker behind the client. Called before every send (retries, the 401 refresh and followed
 * redirects included), so a bearer token that expired during a long Retry-After wait is replaced, and a
 * per-request Connect JWT is signed over the exact method, path and query. A bearer source simply
 * ignores `method`/`url`/`apiPath`.
 */
export type CredentialSource = (request: CredentialRequest) => Promise<Credential> | Credential;

export interface UpstreamCallInfo {
  /** The HTTP status, or what went wrong when there was none. */
  status: number | 'network_error' | 'timeout';
  /** 1-based count of sends within one `client.fetch` call. */
  attempt: number;
  /** Time to response headers (or failure) on the injected clock. */
  ms: number;
  method: string;
  /** Set when the client sends again because of this outcome. */
  retryReason?: RetryReason | 'credential_refresh' | 'redirect' | undefined;
}

export interface ActAsClientDeps {
  fetch: typeof fetch;
  clock: Clock;
  /** Waits between retries; must reject (or return early) when `signal` aborts. Default: a real timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1), for backoff jitter. Default `Math.random`. */
  random?: () => number;
}

export interface ActAsRetryOptions {
  /** Sends per call for 429/5xx/network/timeout, the first included (default 4). */
  maxAttempts?: number;
  /** Backoff base (default 500 ms): the first retry without Retry-After waits in [0, baseMs). */
  baseMs?: number;
  /** Backoff ceiling without Retry-After (default 30 s). */
  maxMs?: number;
  /** A server's Retry-After is honoured but clamped to this (default 60 s). */
  maxRetryAfterMs?: number;
  /** Retry POST/PATCH after 502/503/504, network errors and timeouts (default false: may double-apply). */
  retryNonIdempotent?: boolean;
}

export interface ActAsClientOptions {
  /** e.g. `https://x.atlassian.net/wiki` (2LOi bearer, Connect JWT, Basic) or `https://api.atlassian.com/ex/confluence/<cloudId>/wiki` (3LO). */
  apiBaseUrl: string;
  credential: CredentialSource;
  retry?: ActAsRetryOptions;
  /** Per send, until the response headers arrive (default 30 s). Reading the body is bounded by the caller's signal. */
  timeoutMs?: number;
  /** For metrics; called once per send. Exceptions thrown by it are ignored. */
  onUpstreamCall?: (info: UpstreamCallInfo) => void;
  /** Allow a plain-http API base on a non-loopback host (loud, and never for real Atlassian sites). */
  allowInsecureHttp?: boolean;
}

export interface ActAsClient {
  /**
   * A standard fetch bound to one site and one principal. `path` is relative to the API base
   * (`/api/v2/pages`, `/rest/api/content?limit=5`) or an absolute URL under it. Anything else is refused
   * with FORBIDDEN/BAD_REQUEST before any network call. Caller `Authorization`, `Proxy-Authorization`
   * and `Cookie` headers are dropped. Answers with the last response (a 429 or 5xx when retries ran out,
   * a 3xx that was not followed); throws ATLASSIAN_UNAVAILABLE / ATLASSIAN_TIMEOUT when no response came.
   */
  fetch(path: string | URL, init?: RequestInit): Promise<Response>;
  /** The normalised API base (no trailing slash). */
  readonly apiBaseUrl: string;
}

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const DROPPED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie']);
const NO_BODY: ReplayableBody = { kind: 'none' };

/** RFC 9110 token characters: what Headers accepts as a name. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What Headers refuses in a value: NUL, CR, LF, and anything beyond a byte. */
const BAD_HEADER_VALUE = /[\0\r\n]|[^\x00-\xff]/;
/** The HTTP whitespace Headers strips from both ends of a value. */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function isPlainRecord(h: RequestInit['headers']): h is Record<string, string> {
  if (h === undefined || h === null || typeof h !== 'object' || Array.isArray(h)) return false;
  const proto = Object.getPrototypeOf(h) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The caller's headers as a record with lower-case names, minus the credential headers the client sets or
 * refuses to forward, with Accept defaulting to JSON. Anything given is checked as the platform's Headers
 * checks it (a bad name or value throws a TypeError before any network call). A plain record (the proxy's
 * shape, on every proxied call) is checked here directly rather than by building a Headers object.
 */
function headerRecord(init: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  const take = (value: string, name: string): void => {
    if (DROPPED_HEADERS.has(name)) return;
    const prior = out[name];
    out[name] = prior === undefined ? value : `${prior}, ${value}`;
  };
  if (isPlainRecord(init)) {
    for (const name of Object.keys(init)) {
      const value = String(init[name]).replace(EDGE_WHITESPACE, '');
      if (!HEADER_NAME.test(name)) throw new TypeError(`Headers.append: "${name}" is an invalid header name.`);
      if (BAD_HEADER_VALUE.test(value)) throw new TypeError(`Headers.append: "${value}" is an invalid header value.`);
      take(value, name.toLowerCase());
    }
  } else if (init !== undefined) {
    (init instanceof Headers ? init : new Headers(init)).forEach(take);
  }
  if (out['accept'] === undefined) out['accept'] = 'application/json';
  return out;
}

const HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function positiveNumber(value: number | undefined, fallback: number, name: string, min: number, integer = false): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new GatewayError('CONFIG_INVALID', `createActAsClient: ${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${String(value)}.`, {
      details: { option: name },
    });
  }
  return v;
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/** Creates the act-as client for one API base and one principal (the credential source). */
export function createActAsClient(deps: ActAsClientDeps, options: ActAsClientOptions): ActAsClient {
  if (typeof deps?.fetch !== 'function') throw new GatewayError('CONFIG_INVALID', 'createActAsClient: deps.fetch must be a function.');
  if (typeof deps.clock?.now !== 'function') throw new GatewayError('CONFIG_INVALID', 'createActAsClient: deps.clock must be a Clock.');
  if (typeof options?.credential !== 'function') {
    throw new GatewayError('CONFIG_INVALID', 'createActAsClient: options.credential must be a function ({ forceFresh, method, url, apiPath }) => Promise<{ authorization }>.');
  }
  const base: ApiBase = parseApiBase(options.apiBaseUrl, { allowInsecureHttp: options.allowInsecureHttp ?? false });
  const r = options.retry ?? {};
  const maxAttempts = positiveNumber(r.maxAttempts, 4, 'retry.maxAttempts', 1, true);
  const baseMs = positiveNumber(r.baseMs, 500, 'retry.baseMs', 0);
  const maxMs = positiveNumber(r.maxMs, 30_000, 'retry.maxMs', baseMs);
  const maxRetryAfterMs = positiveNumber(r.maxRetryAfterMs, 60_000, 'retry.maxRetryAfterMs', baseMs);
  const retryNonIdempotent = r.retryNonIdempotent ?? false;
  const timeoutMs = positiveNumber(options.timeoutMs, 30_000, 'timeoutMs', 1);
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const { clock } = deps;
  const fetchImpl = deps.fetch;

  // Checking a path costs a few microseconds (URL parsing, escape checks) and clients call the same few
  // paths over and over: refusals are never cached, accepted string paths are. Bounded small (32), because
  // the gateway keeps thousands of clients alive (one per install and account) and a proxy client sees
  // many one-off paths (page ids, queries).
  const targets = new Map<string, ReturnType<typeof assertTarget>>();
  const targetOf = (path: string | URL): ReturnType<typeof assertTarget> => {
    if (typeof path !== 'string') return assertTarget(resolveApiTarget(base, path));
    const hit = targets.get(path);
    if (hit) return hit;
    const target = assertTarget(resolveApiTarget(base, path));
    if (targets.size >= 32) targets.clear();
    targets.set(path, target);
    return target;
  };

  const report = (info: UpstreamCallInfo): void => {
    try {
      options.onUpstreamCall?.(info);
    } catch {
      // metrics must never break a call
    }
  };

  // A bearer source hands out the same value for many calls; checking a kilobyte-long token against the
  // header grammar each time was a measurable share of the client's own cost, so the last good one is kept.
  let lastChecked: string | undefined;
  /** The header value, at once when the source answered without a promise (no await on the hot path). */
  function authorize(request: CredentialRequest): string | Promise<string> {
    const pending = options.credential(request);
    return pending instanceof Promise ? pending.then(checked) : checked(pending);
  }
  function checked(credential: Credential): string {
    const value = credential?.authorization;
    if (value === lastChecked && value !== undefined) return value;
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      throw new GatewayError('INTERNAL', 'The credential source returned no usable Authorization header value.', { details: { reason: 'invalid_credential_value' } });
    }
    lastChecked = value;
    return value;
  }

  /**
   * One send with a per-send timeout that covers the wait for response headers only. The timeout is a timer
   * rather than an AbortController per request: creating one costs more than the rest of this client
   * together (profiled), and a shared signal makes every abort listener a linear scan. A send that loses to
   * the timer is left to finish (the transport's own timeouts bound it) and its body, if one ever comes, is
   * cancelled. One promise per send, not a race of several: this runs on every proxied request.
   */
  function sendOnce(url: URL, init: RequestInit): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(new GatewayError('ATLASSIAN_TIMEOUT', `Confluence request: no response within ${timeoutMs} ms.`, { details: { reason: 'timeout', retryable: true } }));
      }, timeoutMs);
      let sent: Promise<Response>;
      try {
        sent = fetchImpl(url, init);
      } catch (e) {
        sent = Promise.reject(e);
      }
      sent.then(
        (response) => {
          clearTimeout(timer);
          if (timedOut) void response.body?.cancel().catch(() => undefined);
          else resolve(response);
        },
        (e: unknown) => {
          clearTimeout(timer);
          if (!timedOut) reject(sendError(e, init, 'Confluence request'));
        },
      );
    });
  }

  async function actAsFetch(path: string | URL, init: RequestInit = {}): Promise<Response> {
    const first = targetOf(path);
    const callerSignal = init.signal ?? undefined;
    callerSignal?.throwIfAborted();
    let method = init.method === undefined ? 'GET' : init.method.toUpperCase();
    let body: ReplayableBody = init.body === undefined || init.body === null ? NO_BODY : await toReplayableBody(init.body, method);
    const replayable = body.kind !== 'stream';
    const headers = headerRecord(init.headers);

    let target = first;
    let tries = 1; // attempts in the retry-policy sense (429/5xx/network/timeout)
    let sends = 0;
    let refreshed = false;
    let forceFresh = false;
    let sentAuthorization: string | undefined;
    let redirects = 0;
    const where = (): { method: string; path: string } => ({ method, path: target.url.pathname });

    for (;;) {
      sends += 1;
      const request: CredentialRequest = { forceFresh, method, url: target.url.href, apiPath: target.apiPath };
      if (forceFresh && sentAuthorization !== undefined) request.rejected = sentAuthorization;
      const pendingAuthorization = authorize(request);
      const authorization = typeof pendingAuthorization === 'string' ? pendingAuthorization : await pendingAuthorization;
      forceFresh = false;
      sentAuthorization = authorization;
      // A plain record with lower-case names (validated once, above): the transport takes it as it is.
      const sendHeaders: Record<string, string> = { ...headers, authorization };
      let sendBody: RequestInit['body'];
      if (body.kind === 'bytes') {
        sendBody = body.bytes;
        if (body.contentType !== null && sendHeaders['content-type'] === undefined) sendHeaders['content-type'] = body.contentType;
      } else if (body.kind === 'stream') {
        sendBody = body.body;
      } else {
        delete sendHeaders['content-type'];
      }
      const started = clock.now();
      let response: Response;
      try {
        // The checked URL object itself: a transport that takes URLs need not parse the string again.
        response = await sendOnce(target.url, { ...init, method, headers: sendHeaders, body: sendBody ?? null, redirect: 'manual' });
      } catch (e) {
        if (callerSignal?.aborted) throw callerSignal.reason ?? e;
        if (!isGatewayError(e, 'ATLASSIAN_TIMEOUT') && !isGatewayError(e, 'ATLASSIAN_UNAVAILABLE')) throw e;
        const status = e.code === 'ATLASSIAN_TIMEOUT' ? 'timeout' : 'network_error';
        const decision = replayable ? shouldRetry({ method, status, attempt: tries, maxAttempts, retryNonIdempotent }) : null;
        const retry = decision?.retry === true;
        report({ status, attempt: sends, ms: clock.now() - started, method, retryReason: retry ? decision?.reason : undefined });
        if (!retry) {
          throw new GatewayError(
            e.code,
            status === 'timeout' ? `Confluence did not answer in time (${sends} attempt(s)).` : `Confluence could not be reached (${sends} attempt(s)).`,
            { details: { ...where(), reason: status, attempts: sends, gaveUp: decision?.reason ?? 'body_not_replayable' }, cause: e },
          );
        }
        await wait(retryDelay({ attempt: tries, baseMs, maxMs, random }), callerSignal);
        tries += 1;
        continue;
      }
      const ms = clock.now() - started;

      if (response.status === 401 && !refreshed && replayable) {
        refreshed = true;
        forceFresh = true;
        report({ status: 401, attempt: sends, ms, method, retryReason: 'credential_refresh' });
        await discard(response);
        continue;
      }

      if (REDIRECT_STATUSES.has(response.status)) {
        const location = response.headers.get('location');
        const next = location === null ? null : resolveRedirectTarget(base, location, target.url);
        const changesToGet = response.status === 303 ? method !== 'HEAD' : (response.status === 301 || response.status === 302) && method === 'POST';
        const canResend = changesToGet || body.kind !== 'stream';
        if (next?.ok && redirects < MAX_REDIRECTS && canResend) {
          redirects += 1;
          report({ status: response.status, attempt: sends, ms, method, retryReason: 'redirect' });
          await discard(response);
          target = next;
          if (changesToGet) {
            method = 'GET';
            body = { kind: 'none' };
          }
          continue;
        }
        // Not followed: another origin, outside the base path, too many hops, or a stream body.
        report({ status: response.status, attempt: sends, ms, method });
        return response;
      }

      const retryAfterMs = response.status >= 400 ? parseRetryAfter(response.headers, clock) : undefined;
      const decision = shouldRetry({ method, status: response.status, attempt: tries, maxAttempts, retryNonIdempotent });
      if (!decision.retry || !replayable) {
        report({ status: response.status, attempt: sends, ms, method });
        return response;
      }
      report({ status: response.status, attempt: sends, ms, method, retryReason: decision.reason });
      await discard(response);
      // Retry-After is honoured (never earlier), clamped to maxRetryAfterMs; otherwise full-jitter backoff.
      const delay =
        retryAfterMs !== undefined
          ? retryDelay({ attempt: tries, retryAfterMs, baseMs, maxMs: maxRetryAfterMs, random })
          : retryDelay({ attempt: tries, baseMs, maxMs, random });
      await wait(delay, callerSignal);
      tries += 1;
    }
  }

  async function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    await sleep(ms, signal);
    signal?.throwIfAborted();
  }

  return { fetch: actAsFetch, apiBaseUrl: base.href };
}

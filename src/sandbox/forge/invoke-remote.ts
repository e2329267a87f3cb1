import { randomBytes } from 'node:crypto';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { ForgeAppVersion, ForgeEndpoint, ForgeInstallation } from './forge-types.js';
import { fitClaims, type UiContext } from './fit-claims.js';
import { productScopes, systemTokenFor, userTokenFor } from './forge-tokens.js';

/** `retryContext.retryReason` values (§10.2), also used to say why a UI call failed. */
export type InvocationFailure = 'INVALID_REMOTE_INVOCATION_ERROR' | 'TIMEOUT_ERROR' | 'INVALID_FORGE_INVOCATION_TOKEN';

export interface RemoteCall {
  installation: ForgeInstallation;
  version: ForgeAppVersion;
  endpoint: ForgeEndpoint;
  method: string;
  url: string;
  body: string | undefined;
  /** Headers passed to `invokeRemote({headers})`; UI calls only. */
  headers: Record<string, string>;
  module: { type: string; key: string };
  ui: UiContext | null;
  timeoutMs: number;
}

export type RemoteOutcome =
  | { ok: true; status: number; headers: Record<string, string[]>; body: unknown }
  | { ok: false; reason: InvocationFailure; status: number | null; message: string };

/** 5 MB: the response limit of frontend invocations (limits-invocation page, §10.3). */
const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;
const OWN_HEADERS = new Set(['authorization', 'x-b3-traceid', 'x-b3-spanid', 'x-forge-oauth-system', 'x-forge-oauth-user', 'content-type', 'content-length', 'host']);

/** Where an invocation goes: trigger endpoints append `route.path`; UI paths resolve like URLs (§10.7). */
export function remoteUrl(version: ForgeAppVersion, endpoint: ForgeEndpoint, uiPath: string | null): string | null {
  const base = version.remoteUrls[endpoint.remote];
  if (!base) return null;
  if (uiPath === null) return `${base.replace(/\/+$/, '')}${endpoint.routePath ?? ''}`;
  const resolved = new URL(uiPath, base.endsWith('/') ? base : `${base}/`);
  // A UI path may not leave the remote (an absolute URL to another host is refused).
  return resolved.origin === new URL(base).origin ? resolved.toString() : null;
}

const hasScope = (v: ForgeAppVersion, name: string) => v.manifest.scopes.some((s) => s.name === name);

/**
 * One invocation of a remote as Forge makes it (§10.3): the FIT as `authorization`, B3 trace headers, and the
 * system and user tokens when the endpoint enables them, the manifest declares the token scope, and (for the
 * user token) a user is in session and a product scope exists. A 3xx, a 401, a timeout or (for UI calls) a
 * non-JSON answer is a failure with the reason Forge reports.
 */
export async function invokeRemote(deps: SandboxDeps, call: RemoteCall): Promise<RemoteOutcome> {
  const { installation, version, endpoint } = call;
  const fit = await deps.forgeKeys.sign(fitClaims(deps, installation, version, call.module, call.ui));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.headers)) if (!OWN_HEADERS.has(k.toLowerCase())) headers[k.toLowerCase()] = v;
  headers['authorization'] = `Bearer ${fit}`;
  headers['x-b3-traceid'] = randomBytes(16).toString('hex');
  headers['x-b3-spanid'] = randomBytes(8).toString('hex');
  if (endpoint.auth.appSystemToken && hasScope(version, 'read:app-system-token')) headers['x-forge-oauth-system'] = systemTokenFor(deps, installation).token;
  if (endpoint.auth.appUserToken && call.ui && hasScope(version, 'read:app-user-token') && productScopes(installation).length > 0) {
    headers['x-forge-oauth-user'] = userTokenFor(deps, installation, call.ui.principal.accountId).token;
  }
  if (call.body !== undefined) headers['content-type'] = 'application/json';

  const outcome = await send(deps, call, headers);
  const status = outcome.ok ? outcome.status : (outcome.status ?? 0);
  const site = installation.siteKey;
  const user = call.ui?.principal.accountId ?? null;
  deps.counters.record('forge_invocation', { app: installation.appId, user, route: endpoint.key, site });
  deps.counters.log({ at: deps.clock.now(), kind: 'forge_invocation', method: call.method, path: call.url, status, app: installation.appId, user, site, route: endpoint.key });
  return outcome;
}

async function send(deps: SandboxDeps, call: RemoteCall, headers: Record<string, string>): Promise<RemoteOutcome> {
  let res: Response;
  try {
    res = await deps.outboundFetch(call.url, {
      method: call.method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(call.timeoutMs),
      ...(call.body !== undefined ? { body: call.body } : {}),
    });
  } catch (e) {
    const err = e as Error;
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return { ok: false, reason: 'TIMEOUT_ERROR', status: null, message: `The remote did not answer within ${call.timeoutMs} ms` };
    return { ok: false, reason: 'INVALID_REMOTE_INVOCATION_ERROR', status: null, message: `The remote could not be reached: ${err.message}` };
  }
  let text: string;
  try {
    const buf = await res.arrayBuffer();
    if (buf.byteLength > MAX_RESPONSE_BYTES) return { ok: false, reason: 'INVALID_REMOTE_INVOCATION_ERROR', status: res.status, message: 'The remote response is larger than 5 MB' };
    text = new TextDecoder().decode(buf);
  } catch (e) {
    const err = e as Error;
    return { ok: false, reason: err.name === 'TimeoutError' ? 'TIMEOUT_ERROR' : 'INVALID_REMOTE_INVOCATION_ERROR', status: res.status, message: `The remote response could not be read: ${err.message}` };
  }
  if (res.status === 401) return { ok: false, reason: 'INVALID_FORGE_INVOCATION_TOKEN', status: 401, message: 'Remote could not verify the Forge Invocation Token' };
  if (res.status >= 300 && res.status < 400) return { ok: false, reason: 'INVALID_REMOTE_INVOCATION_ERROR', status: res.status, message: `The remote answered a redirect (HTTP ${res.status}); Forge does not follow redirects` };
  const isJson = /^application\/(?:[\w.+-]+\+)?json\b/i.test(res.headers.get('content-type') ?? '');
  let body: unknown = undefined;
  if (text !== '') {
    if (isJson) {
      try {
        body = JSON.parse(text);
      } catch {
        return { ok: false, reason: 'INVALID_REMOTE_INVOCATION_ERROR', status: res.status, message: 'The remote answered a body that is not valid JSON' };
      }
    } else if (call.ui || res.status >= 400) {
      return { ok: false, reason: 'INVALID_REMOTE_INVOCATION_ERROR', status: res.status, message: `The remote answered Content-Type "${res.headers.get('content-type') ?? ''}"; remote responses must be application/json` };
    }
  }
  if (res.status >= 400 && body === undefined) return { ok: false, reason: 'INVALID_REMOTE_INVOCATION_ERROR', status: res.status, message: `The remote answered HTTP ${res.status} without a JSON body` };
  if (!call.ui && (res.status < 200 || res.status >= 300)) return { ok: false, reason: 'INVALID_REMOTE_INVOCATION_ERROR', status: res.status, message: `The remote answered HTTP ${res.status}` };
  const out: Record<string, string[]> = {};
  res.headers.forEach((v, k) => {
    (out[k] ??= []).push(v);
  });
  return { ok: true, status: res.status, headers: out, body };
}

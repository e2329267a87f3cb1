import type { ActAsIo } from './act-as-io.js';
import { GatewayError } from '../errors.js';
import type { AtlassianEndpoints } from '../atlassian/endpoints.js';
import { createActAsClient, type ActAsClient } from '../confluence/create-act-as-client.js';
import { resolveActing, type ActingDeps, type ActingRequest, type ActingRoute, type ActingTarget } from '../identity/acting.js';
import type { ForgeTokenBroker } from './forge-token-broker.js';
import type { ConnectActAs } from './connect-act-as.js';
import type { ConnectTokenBroker } from './connect-token-broker.js';
import { createLruCache } from './lru-cache.js';
import type { OAuthTokenBroker } from './oauth-token-broker.js';

export interface ActingToken {
  accessToken: string;
  tokenType: 'Bearer';
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Where this token may be sent: the site (Connect) or the API gateway path of the site (3LO, Forge). */
  apiBaseUrl: string;
  route: ActingRoute;
  scopes: string[];
}

/** A client from `asUser`, which also says whom it acts as and by which route, as last decided. */
export interface ActingClient extends ActAsClient {
  readonly route: ActingRoute;
  readonly accountId: string;
}

export interface Acting {
  asUser(req: ActingRequest & { scopes?: readonly string[] }): Promise<ActingClient>;
  tokenFor(req: ActingRequest & { scopes?: readonly string[] }): Promise<ActingToken>;
}

/** Refuses scopes outside what the route is configured (and the site's policy) to allow. */
export function checkScopes(route: ActingRoute, requested: readonly string[] | undefined, allowed: readonly string[]): void {
  if (!requested || requested.length === 0) return;
  const norm = (x: string) => (route === 'connect' ? x.toUpperCase() : x);
  const ok = new Set(allowed.map(norm));
  const missing = requested.flatMap((r) => r.split(/\s+/)).filter((r) => r !== '' && !ok.has(norm(r)));
  if (missing.length > 0) {
    throw new GatewayError('SCOPE_NOT_ALLOWED', `Scopes not allowed for the ${route} route on this site: ${missing.join(', ')}.`, { details: { route, missing, allowed: [...allowed] } });
  }
}

/**
 * One interface over every route: resolve who may be acted as (identity), then hand out a token or a
 * Confluence client for the route the link and site allow, and say which route was used.
 */
export function createActing(deps: ActAsIo & {
  resolve: ActingDeps;
  /** The scopes each route may use unless a site's policy narrows them (configured, not hard-coded). */
  defaultScopes: { connect: readonly string[]; oauth: readonly string[]; forge?: readonly string[] };
  connectBroker: ConnectTokenBroker;
  connectActAs: ConnectActAs;
  oauthBroker: OAuthTokenBroker | null;
  /** Offline user tokens of Forge installations, when the gateway is a Forge remote. */
  forgeBroker?: ForgeTokenBroker | null;
  endpoints: AtlassianEndpoints;
  /** How long a client handed out acts before the acting decision runs again (default 30 s). */
  recheckMs?: number;
  /**
   * Changes whenever the reads behind the acting decision may have changed (hotReadsStamp): a client the
   * app keeps decides again then, so another instance's revocation reaches it within the hot reads' bound.
   */
  decisionStamp?: () => number;
}): Acting {
  const oauthBase = (cloudId: string) => `${deps.endpoints.apiGatewayUrl}/ex/confluence/${cloudId}/wiki`;
  const forge = (): ForgeTokenBroker => {
    if (!deps.forgeBroker) throw new GatewayError('POLICY_REFUSED', 'The Forge route is not configured on this gateway (ONBEHALF_FORGE_APP_ID).');
    return deps.forgeBroker;
  };
  /** A Forge installation's product API base (`app.apiBaseUrl` of its invocations) + `/wiki`. */
  const forgeBase = (tenant: ActingTarget['tenant']): string => {
    const api = typeof tenant.payload?.['apiBaseUrl'] === 'string' ? tenant.payload['apiBaseUrl'] : `${deps.endpoints.apiGatewayUrl}/ex/confluence/${tenant.cloudId ?? ''}`;
    return `${api.replace(/\/+$/, '')}/wiki`;
  };
  const oauth = (): OAuthTokenBroker => {
    if (!deps.oauthBroker) throw new GatewayError('POLICY_REFUSED', 'OAuth 2.0 (3LO) is not configured on this gateway.');
    return deps.oauthBroker;
  };
  // Connect clients already handed out, reused by later calls for the same install, account and scopes
  // (the proxy asks for one per request). The acting decision (`decide`) still runs on every call, and the
  // client drops its held token whenever the broker drops any, so reuse never outlives a revocation. Any
  // change to the tenant row (reinstall, status) makes a new key, hence a new client. Bounded: 2,048 clients
  // with at most 32 remembered paths each stay within a few tens of megabytes even in the worst case.
  const connectClients = createLruCache<ActAsClient>({ maxEntries: 2048 });
  const connectClient = (tenant: ActingTarget['tenant'], accountId: string, scopes: readonly string[] | undefined): ActAsClient => {
    const key = `${tenant.id}\u0000${tenant.updatedAt}\u0000${tenant.status}\u0000${tenant.oauthClientId ?? ''}\u0000${tenant.baseUrl}\u0000${accountId}\u0000${scopes ? [...scopes].sort().join(' ') : '*'}`;
    let client = connectClients.get(key);
    if (!client) {
      client = deps.connectActAs.asUser(tenant, accountId, scopes ? { scopes } : {});
      connectClients.set(key, client);
    }
    return client;
  };
  /** The acting decision, read afresh: who, through which install and route, with the scopes allowed. */
  async function decide(req: ActingRequest & { scopes?: readonly string[] }): Promise<ActingTarget> {
    const t = await resolveActing(deps.resolve, req);
    // Forge tokens carry whatever the app's manifest allows to impersonate: Atlassian checks the scopes.
    if (t.route !== 'forge') checkScopes(t.route, req.scopes, t.allowedScopes ?? deps.defaultScopes[t.route]);
    return t;
  }
  /** Decides afresh and returns the client for the route the link and site allow now. */
  async function clientNow(req: ActingRequest & { scopes?: readonly string[] }): Promise<{ client: ActAsClient; t: ActingTarget }> {
    const t = await decide(req);
    return { client: clientFor(t, req), t };
  }
  function clientFor(t: ActingTarget, req: ActingRequest & { scopes?: readonly string[] }): ActAsClient {
    if (t.route === 'connect') return connectClient(t.tenant, t.accountId, req.scopes);
    const tokenReq = { accountId: t.accountId, ...(req.scopes ? { scopes: req.scopes } : {}) };
    const broker: { tokenFor(): Promise<{ accessToken: string }>; invalidate(token: string | undefined): void | Promise<void> } =
      t.route === 'forge'
        ? { tokenFor: () => forge().tokenFor({ tenant: t.tenant, ...tokenReq }), invalidate: (token) => forge().invalidate({ tenant: t.tenant, ...tokenReq }, token) }
        : { tokenFor: () => oauth().tokenFor(tokenReq), invalidate: (token) => oauth().invalidate(tokenReq, token) };
    let last: string | undefined;
    return createActAsClient(
      { fetch: deps.fetch, clock: deps.clock, ...(deps.sleep ? { sleep: deps.sleep } : {}), ...(deps.random ? { random: deps.random } : {}) },
      {
        apiBaseUrl: t.route === 'forge' ? forgeBase(t.tenant) : oauthBase(t.tenant.tenantKey),
        allowInsecureHttp: deps.allowInsecureHttp,
        ...(deps.onUpstreamCall ? { onUpstreamCall: deps.onUpstreamCall } : {}),
        credential: async ({ forceFresh, rejected }) => {
          // The token the 401 answered, not the last one handed out: calls through a kept client overlap.
          if (forceFresh) await broker.invalidate(rejected?.startsWith('Bearer ') ? rejected.slice('Bearer '.length) : last);
          const token = await broker.tokenFor();
          last = token.accessToken;
          return { authorization: `Bearer ${token.accessToken}` };
        },
      },
    );
  }

  const recheckMs = deps.recheckMs ?? 30_000;
  return {
    async asUser(req) {
      // Taken before deciding: a change published while the decision reads makes the next call decide again.
      let seenStamp = deps.decisionStamp?.();
      let { client, t: target } = await clientNow(req);
      let checkedAt = deps.clock.now();
      let seenVersion = deps.connectBroker.version;
      // A client the app keeps must not outlive the link it was made for: Connect impersonation needs no
      // consent from Atlassian's side, so the broker would mint fresh tokens after a revocation. The whole
      // acting decision runs again whenever this process dropped any token (a revocation here does, so the
      // next call is refused), whenever the hot reads behind it may have changed (`decisionStamp`: any
      // instance's change while the change watcher vouches, else once per 1 s TTL window; deciding again
      // then costs memory reads only) and at least every `recheckMs`.
      return {
        get apiBaseUrl() {
          return client.apiBaseUrl;
        },
        get route() {
          return target.route;
        },
        get accountId() {
          return target.accountId;
        },
        async fetch(path, init) {
          const now = deps.clock.now();
          const version = deps.connectBroker.version;
          const stamp = deps.decisionStamp?.();
          if (version !== seenVersion || stamp !== seenStamp || now - checkedAt >= recheckMs) {
            // Only a successful check moves these on, so after a refusal every call checks (and refuses) again.
            ({ client, t: target } = await clientNow(req));
            seenVersion = version;
            seenStamp = stamp;
            checkedAt = now;
          }
          return client.fetch(path, init);
        },
      };
    },
    async tokenFor(req) {
      const t = await decide(req);
      if (t.route === 'connect') {
        const c = await deps.connectBroker.tokenFor({ tenant: t.tenant, accountId: t.accountId, ...(req.scopes ? { scopes: req.scopes } : {}) });
        return { accessToken: c.accessToken, tokenType: 'Bearer', expiresAt: c.expiresAt, apiBaseUrl: c.apiBaseUrl, route: 'connect', scopes: c.scopes };
      }
      if (t.route === 'forge') {
        const f = await forge().tokenFor({ tenant: t.tenant, accountId: t.accountId, ...(req.scopes ? { scopes: req.scopes } : {}) });
        // The broker built the base from the same installation record (its `apiBaseUrl`) when it cached the token.
        return { accessToken: f.accessToken, tokenType: 'Bearer', expiresAt: f.expiresAt, apiBaseUrl: f.apiBaseUrl, route: 'forge', scopes: f.scopes };
      }
      const o = await oauth().tokenFor({ accountId: t.accountId, ...(req.scopes ? { scopes: req.scopes } : {}) });
      return { accessToken: o.accessToken, tokenType: 'Bearer', expiresAt: o.expiresAt, apiBaseUrl: oauthBase(t.tenant.tenantKey), route: 'oauth', scopes: o.scopes };
    },
  };
}

import type { Clock } from '../clock.js';
import { GatewayError, isGatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AtlassianEndpoints } from '../atlassian/endpoints.js';
import { createJwtBearerAssertion } from '../atlassian/jwt-bearer-assertion.js';
import { jwtBearerTokenRequest, normaliseConnectScopes, processJwtBearerTokenResponse } from '../atlassian/jwt-bearer-token.js';
import { retryDelay } from '../atlassian/retry-delay.js';
import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';
import { createLruCache } from './lru-cache.js';
import { shouldRefresh } from './should-refresh.js';
import { createSingleFlight } from './single-flight.js';

export interface ConnectTokenRequest {
  tenant: Tenant;
  accountId: string;
  /** Connect scopes (READ, WRITE, ...); empty or absent = the app's scopes. */
  scopes?: readonly string[];
}

export interface IssuedToken {
  accessToken: string;
  tokenType: 'Bearer';
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Where the token may be sent: the site's own base URL for this route (protocol doc §3.4). */
  apiBaseUrl: string;
  route: 'connect';
  scopes: string[];
}

export interface BrokerStats {
  grants: number;
  grantFailures: number;
  hits: number;
  misses: number;
}

export interface ConnectTokenBroker {
  tokenFor(req: ConnectTokenRequest): Promise<IssuedToken>;
  /** Forgets a cached token (after Atlassian answered 401 to it), so the next call mints a fresh one. */
  invalidate(req: ConnectTokenRequest, accessToken?: string): void;
  /** Drops every cached token of a tenant at once (uninstall, disable, reinstall). */
  purgeTenant(tenant: Pick<Tenant, 'appKey' | 'tenantKey'>): number;
  /** Drops one account's cached tokens on every site (its link was revoked). */
  purgeAccount(accountId: string): number;
  /**
   * Grows whenever cached tokens are dropped (invalidate, purges). A client that keeps the token it was
   * last given may reuse it only while this is unchanged, so a revocation still takes effect at once.
   */
  readonly version: number;
  readonly cacheSize: number;
  readonly stats: Readonly<BrokerStats>;
}

export interface ConnectTokenBrokerDeps {
  repos: Repositories;
  endpoints: AtlassianEndpoints;
  fetch: typeof fetch;
  clock: Clock;
  logger: Logger;
  /** Injected so tests never wait in real time. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Told about every grant, for metrics and the audit log. */
  onGrant?: (info: { tenant: Tenant; accountId: string; scopes: string[]; outcome: 'ok' | 'error'; code?: string }) => void;
  /** Told about every lookup: answered from the cache or not. */
  onLookup?: (hit: boolean) => void;
}

export interface ConnectTokenBrokerOptions {
  refreshSkewMs: number;
  cacheMaxEntries: number;
  /** Total tries of a grant that fails with a retryable error (5xx, timeout, network). */
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  grantTimeoutMs?: number;
}

interface CachedToken {
  token: IssuedToken;
  tenantPrefix: string;
  accountId: string;
}

const ACCOUNT_ID = /^[A-Za-z0-9:_-]{1,128}$/;

/**
 * User tokens by the JWT-bearer grant (Connect user impersonation, protocol doc §3). One in-memory cache,
 * keyed by every tenant dimension (app, clientKey, oauthClientId, site, account, scope set), bounded, and
 * refreshed `refreshSkewMs` before expiry. Concurrent callers for one key share one grant (single-flight),
 * so a burst of N cold calls costs one call to Atlassian, not N. Access tokens are not persisted: they
 * live 15 minutes and are cheap to mint, so writing them down would only add secrets at rest.
 */
export function createConnectTokenBroker(deps: ConnectTokenBrokerDeps, options: ConnectTokenBrokerOptions): ConnectTokenBroker {
  const cache = createLruCache<CachedToken>({ maxEntries: options.cacheMaxEntries });
  const flights = createSingleFlight<IssuedToken>();
  const stats: BrokerStats = { grants: 0, grantFailures: 0, hits: 0, misses: 0 };
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = deps.random ?? Math.random;
  const maxAttempts = options.maxAttempts ?? 3;
  // Bumped by purgeTenant (per tenant prefix) and purgeAccount (per account): a grant that was in flight
  // when its tenant or its account was purged must not re-fill the cache with the token it brings back.
  const generations = new Map<string, number>();
  const accountGenerations = new Map<string, number>();
  let version = 0;

  const tenantPrefix = (t: Pick<Tenant, 'appKey' | 'tenantKey'>) => `connect\u0000${t.appKey}\u0000${t.tenantKey}\u0000`;
  const keyOf = (tenant: Tenant, accountId: string, scopes: string[]) =>
    `${tenantPrefix(tenant)}${tenant.oauthClientId ?? ''}\u0000${tenant.baseUrl}\u0000${accountId}\u0000${[...scopes].sort().join(' ')}`;

  function check(req: ConnectTokenRequest): string[] {
    if (!ACCOUNT_ID.test(req.accountId)) {
      throw new GatewayError('VALIDATION_FAILED', 'accountId must be an Atlassian account ID (letters, digits, ":", "_", "-").', { details: { field: 'accountId' } });
    }
    const t = req.tenant;
    if (t.route !== 'connect') throw new GatewayError('BAD_REQUEST', `Tenant ${t.id} is not a Connect installation.`);
    if (t.status !== 'active') {
      throw new GatewayError('TENANT_UNINSTALLED', `The app is ${t.status} on ${t.baseUrl}; it cannot act for its users until it is installed and enabled again.`, {
        details: { status: t.status, site: t.baseUrl },
      });
    }
    if (!t.oauthClientId) {
      throw new GatewayError('POLICY_REFUSED', `The install on ${t.baseUrl} has no oauthClientId: the app must declare the ACT_AS_USER scope and be reinstalled.`, {
        details: { site: t.baseUrl },
      });
    }
    return normaliseConnectScopes(req.scopes);
  }

  /** Tells the onGrant hook; a hook that throws is logged and never turns a grant (or its failure) into another outcome. */
  function heard(info: Parameters<NonNullable<ConnectTokenBrokerDeps['onGrant']>>[0]): void {
    try {
      deps.onGrant?.(info);
    } catch (e) {
      deps.logger.warn({ err: e }, 'onGrant hook failed');
    }
  }

  async function grant(tenant: Tenant, accountId: string, scopes: string[]): Promise<IssuedToken> {
    const secret = await deps.repos.tenants.sharedSecret(tenant.id);
    if (!secret) throw new GatewayError('TENANT_UNINSTALLED', `No shared secret is stored for ${tenant.baseUrl}; reinstall the app.`);
    for (let attempt = 1; ; attempt++) {
      try {
        // A fresh assertion per attempt: each one may live only 60 s (doc §3.2).
        const assertion = createJwtBearerAssertion({
          oauthClientId: tenant.oauthClientId ?? '',
          accountId,
          tenantBaseUrl: tenant.baseUrl,
          authServerUrl: deps.endpoints.impersonationAudience,
          sharedSecret: secret,
          clock: deps.clock,
        });
        const res = await jwtBearerTokenRequest({
          tokenEndpoint: deps.endpoints.impersonationTokenUrl,
          assertion,
          scopes,
          fetch: deps.fetch,
          signal: AbortSignal.timeout(options.grantTimeoutMs ?? 10_000),
        });
        const t = await processJwtBearerTokenResponse(res, deps.clock);
        stats.grants++;
        heard({ tenant, accountId, scopes, outcome: 'ok' });
        return { accessToken: t.accessToken, tokenType: 'Bearer', expiresAt: t.expiresAt, apiBaseUrl: tenant.baseUrl, route: 'connect', scopes: t.scopes ?? scopes };
      } catch (e) {
        const retryable = isGatewayError(e) && e.details?.['retryable'] === true;
        if (!retryable || attempt >= maxAttempts) {
          stats.grantFailures++;
          heard({ tenant, accountId, scopes, outcome: 'error', code: isGatewayError(e) ? e.code : 'INTERNAL' });
          if (isGatewayError(e, 'INVALID_GRANT')) {
            throw new GatewayError('INVALID_GRANT', `Atlassian refused to issue a token for account ${accountId} on ${tenant.baseUrl}: the user is unknown, inactive or cannot use the site.`, {
              details: { accountId, site: tenant.baseUrl, ...(e.details ?? {}) },
              cause: e,
            });
          }
          if (retryable) {
            throw new GatewayError(isGatewayError(e, 'ATLASSIAN_TIMEOUT') ? 'ATLASSIAN_TIMEOUT' : 'ATLASSIAN_UNAVAILABLE', `Atlassian's token service did not answer after ${attempt} attempt(s).`, {
              details: { attempts: attempt, site: tenant.baseUrl },
              cause: e,
            });
          }
          throw e;
        }
        const retryAfterMs = isGatewayError(e) && typeof e.details?.['retryAfterMs'] === 'number' ? (e.details['retryAfterMs'] as number) : undefined;
        const wait = retryDelay({ attempt, retryAfterMs, baseMs: options.retryBaseMs ?? 200, maxMs: options.retryMaxMs ?? 10_000, random });
        deps.logger.warn({ err: e, attempt, waitMs: wait, site: tenant.baseUrl }, 'JWT-bearer grant failed; retrying');
        await sleep(wait);
      }
    }
  }

  return {
    async tokenFor(req) {
      const scopes = check(req);
      const key = keyOf(req.tenant, req.accountId, scopes);
      const cached = cache.get(key);
      if (!shouldRefresh(cached?.token, deps.clock.now(), options.refreshSkewMs).refresh && cached) {
        stats.hits++;
        deps.onLookup?.(true);
        return cached.token;
      }
      stats.misses++;
      deps.onLookup?.(false);
      const prefix = tenantPrefix(req.tenant);
      return flights.run(key, async () => {
        const generation = generations.get(prefix) ?? 0;
        const accountGeneration = accountGenerations.get(req.accountId) ?? 0;
        const token = await grant(req.tenant, req.accountId, scopes);
        const purged = (generations.get(prefix) ?? 0) !== generation || (accountGenerations.get(req.accountId) ?? 0) !== accountGeneration;
        if (!purged) cache.set(key, { token, tenantPrefix: prefix, accountId: req.accountId });
        return token;
      });
    },
    invalidate(req, accessToken) {
      version++;
      const key = keyOf(req.tenant, req.accountId, normaliseConnectScopes(req.scopes));
      const cached = cache.get(key);
      // Only the token that failed: a concurrent caller may already have put a fresh one in its place.
      if (cached && (accessToken === undefined || cached.token.accessToken === accessToken)) cache.delete(key);
    },
    purgeTenant(tenant) {
      const prefix = tenantPrefix(tenant);
      version++;
      generations.set(prefix, (generations.get(prefix) ?? 0) + 1);
      return cache.deleteWhere((_k, v) => v.tenantPrefix === prefix);
    },
    purgeAccount(accountId) {
      version++;
      accountGenerations.set(accountId, (accountGenerations.get(accountId) ?? 0) + 1);
      return cache.deleteWhere((_k, v) => v.accountId === accountId);
    },
    get version() {
      return version;
    },
    get cacheSize() {
      return cache.size;
    },
    stats,
  };
}

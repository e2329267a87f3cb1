import type { Clock } from '../clock.js';
import { GatewayError, isGatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { offlineUserAuthTokenRequest, processOfflineUserAuthTokenResponse, type ContextIdForm } from '../atlassian/offline-user-auth-token.js';
import { retryDelay } from '../atlassian/retry-delay.js';
import type { Tenant } from '../store/tenants-repo.js';
import type { ForgeInstallations } from '../tenants/forge-installation.js';
import type { ForgeRateLimiter } from './forge-rate-limiter.js';
import { createLruCache } from './lru-cache.js';
import { shouldRefresh } from './should-refresh.js';
import { createSingleFlight } from './single-flight.js';
import { forgeApiBase, forgeSystemTokenMissing } from './forge-app-client.js';

export interface ForgeTokenRequest {
  tenant: Tenant;
  accountId: string;
  /** Scopes the caller needs; part of the cache key. The token carries the app's impersonation scopes. */
  scopes?: readonly string[];
}

export interface ForgeIssuedToken {
  accessToken: string;
  tokenType: 'Bearer';
  /** Milliseconds since the epoch (now + `ttl`). */
  expiresAt: number;
  /** Where the token may be sent: the installation's `apiBaseUrl` + `/wiki` (§10.5). */
  apiBaseUrl: string;
  route: 'forge';
  scopes: string[];
}

export interface ForgeTokenBrokerDeps {
  installations: ForgeInstallations;
  /** Atlassian's GraphQL API (`https://api.atlassian.com/graphql`) or the sandbox's. */
  graphqlUrl: string;
  fetch: typeof fetch;
  clock: Clock;
  logger: Logger;
  limiter: ForgeRateLimiter;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onGrant?: (info: { tenant: Tenant; accountId: string; outcome: 'ok' | 'error'; code?: string }) => void;
  /** Forge refused the stored system token itself (HTTP 401): the installation may be gone. */
  onSystemTokenRejected?: (tenant: Tenant) => void;
}

export interface ForgeTokenBrokerOptions {
  refreshSkewMs: number;
  cacheMaxEntries: number;
  /** Which context ARI form to send first (§10.10: documented "installation context", workspace form by default). */
  contextIdForm?: ContextIdForm;
  maxAttempts?: number;
  grantTimeoutMs?: number;
}

export interface ForgeTokenBroker {
  tokenFor(req: ForgeTokenRequest): Promise<ForgeIssuedToken>;
  invalidate(req: ForgeTokenRequest, accessToken?: string): void;
  purgeTenant(tenant: Pick<Tenant, 'appKey' | 'tenantKey'>): number;
  purgeAccount(accountId: string): number;
  readonly stats: Readonly<{ grants: number; grantFailures: number; hits: number; misses: number }>;
}

const ACCOUNT_ID = /^[A-Za-z0-9:_-]{1,128}$/;

/**
 * Offline user tokens for Forge installations (§10.6): the stored app system token is exchanged for a token
 * acting as the user, cached per (app, installation, account, scopes) until `ttl` minus the refresh skew,
 * with concurrent cold callers sharing one exchange and every exchange passing the per-app budget first.
 * The context ARI form Atlassian accepts for Confluence is not documented: the configured form goes first,
 * and on the one refusal that means "wrong form" the other is tried once and remembered per installation.
 */
export function createForgeTokenBroker(deps: ForgeTokenBrokerDeps, options: ForgeTokenBrokerOptions): ForgeTokenBroker {
  const cache = createLruCache<{ token: ForgeIssuedToken; prefix: string; accountId: string }>({ maxEntries: options.cacheMaxEntries });
  const flights = createSingleFlight<ForgeIssuedToken>();
  // Bumped by purgeTenant (per tenant prefix) and purgeAccount (per account): an exchange that was in flight
  // when its installation or its account (a revoked link) was purged must not re-fill the cache.
  const generations = new Map<string, number>();
  const accountGenerations = new Map<string, number>();
  const formFor = new Map<string, ContextIdForm>();
  const stats = { grants: 0, grantFailures: 0, hits: 0, misses: 0 };
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxAttempts = options.maxAttempts ?? 3;
  const prefixOf = (t: Pick<Tenant, 'appKey' | 'tenantKey'>) => `forge\u0000${t.appKey}\u0000${t.tenantKey}\u0000`;
  const scopeKey = (s: readonly string[] | undefined) => [...new Set(s ?? [])].sort().join(' ');
  const keyOf = (req: ForgeTokenRequest) => `${prefixOf(req.tenant)}${req.accountId}\u0000${scopeKey(req.scopes)}`;

  function check(req: ForgeTokenRequest): void {
    if (!ACCOUNT_ID.test(req.accountId)) throw new GatewayError('VALIDATION_FAILED', 'accountId must be an Atlassian account ID.', { details: { field: 'accountId' } });
    if (req.tenant.route !== 'forge') throw new GatewayError('BAD_REQUEST', `Tenant ${req.tenant.id} is not a Forge installation.`);
    if (req.tenant.status !== 'active') throw new GatewayError('TENANT_UNINSTALLED', `The Forge installation on ${req.tenant.baseUrl} is ${req.tenant.status}.`, { details: { status: req.tenant.status } });
  }

  async function exchange(tenant: Tenant, accountId: string, systemToken: string, form: ContextIdForm): Promise<ForgeIssuedToken> {
    await deps.limiter.acquire(tenant.appKey);
    const res = await offlineUserAuthTokenRequest({
      graphqlUrl: deps.graphqlUrl,
      systemToken,
      cloudId: tenant.cloudId ?? '',
      accountId,
      contextIdForm: form,
      fetch: deps.fetch,
      signal: AbortSignal.timeout(options.grantTimeoutMs ?? 10_000),
    });
    const t = await processOfflineUserAuthTokenResponse(res, deps.clock);
    return { accessToken: t.token, tokenType: 'Bearer', expiresAt: t.expiresAt, apiBaseUrl: forgeApiBase(tenant), route: 'forge', scopes: [] };
  }

  /** Calls an application hook; one that throws is logged and never turns a grant (or its failure) into another outcome. */
  function heard(hook: 'onGrant' | 'onSystemTokenRejected', call: () => void): void {
    try {
      call();
    } catch (e) {
      deps.logger.warn({ err: e }, `${hook} hook failed`);
    }
  }

  async function grant(tenant: Tenant, accountId: string): Promise<ForgeIssuedToken> {
    const system = await deps.installations.systemToken(tenant);
    if (!system) throw forgeSystemTokenMissing(tenant);
    const first = formFor.get(tenant.tenantKey) ?? options.contextIdForm ?? 'workspace';
    for (let attempt = 1; ; attempt++) {
      try {
        let token: ForgeIssuedToken;
        try {
          token = await exchange(tenant, accountId, system.token, first);
        } catch (e) {
          if (!isGatewayError(e, 'IMPERSONATION_REFUSED') || e.details?.['reason'] !== 'context_mismatch') throw e;
          const other: ContextIdForm = first === 'workspace' ? 'site' : 'workspace';
          token = await exchange(tenant, accountId, system.token, other);
          formFor.set(tenant.tenantKey, other);
          deps.logger.info({ installationId: tenant.tenantKey, form: other }, 'Forge accepted the other context ARI form; it is used from now on');
        }
        stats.grants++;
        heard('onGrant', () => deps.onGrant?.({ tenant, accountId, outcome: 'ok' }));
        return token;
      } catch (e) {
        const retryable = isGatewayError(e) && e.details?.['retryable'] === true && !isGatewayError(e, 'RATE_LIMITED');
        if (!retryable || attempt >= maxAttempts) {
          stats.grantFailures++;
          heard('onGrant', () => deps.onGrant?.({ tenant, accountId, outcome: 'error', code: isGatewayError(e) ? e.code : 'INTERNAL' }));
          if (isGatewayError(e, 'ATLASSIAN_ERROR') && e.details?.['reason'] === 'unauthorized') {
            heard('onSystemTokenRejected', () => deps.onSystemTokenRejected?.(tenant));
            throw new GatewayError('FORGE_TOKEN_UNAVAILABLE', `Forge no longer accepts the app system token of the installation on ${tenant.baseUrl}: the app may have been uninstalled. A new invocation (the hourly trigger) brings a new token if it is still installed.`, {
              details: { installationId: tenant.tenantKey, retryable: false },
              cause: e,
            });
          }
          throw e;
        }
        const after = (e as GatewayError).details?.['retryAfterMs'];
        const retryAfterMs = typeof after === 'number' ? after : undefined;
        await sleep(retryDelay({ attempt, retryAfterMs, baseMs: 200, maxMs: 10_000, random: deps.random ?? Math.random }));
      }
    }
  }

  return {
    async tokenFor(req) {
      check(req);
      const key = keyOf(req);
      const cached = cache.get(key);
      if (cached && !shouldRefresh(cached.token, deps.clock.now(), options.refreshSkewMs).refresh) {
        stats.hits++;
        return cached.token;
      }
      stats.misses++;
      const prefix = prefixOf(req.tenant);
      return flights.run(key, async () => {
        const generation = generations.get(prefix) ?? 0;
        const accountGeneration = accountGenerations.get(req.accountId) ?? 0;
        const token = { ...(await grant(req.tenant, req.accountId)), scopes: [...new Set(req.scopes ?? [])].sort() };
        const purged = (generations.get(prefix) ?? 0) !== generation || (accountGenerations.get(req.accountId) ?? 0) !== accountGeneration;
        if (!purged) cache.set(key, { token, prefix, accountId: req.accountId });
        return token;
      });
    },
    invalidate(req, accessToken) {
      const key = keyOf(req);
      const cached = cache.get(key);
      if (cached && (accessToken === undefined || cached.token.accessToken === accessToken)) cache.delete(key);
    },
    purgeTenant(tenant) {
      const prefix = prefixOf(tenant);
      generations.set(prefix, (generations.get(prefix) ?? 0) + 1);
      return cache.deleteWhere((_k, v) => v.prefix === prefix);
    },
    purgeAccount(accountId) {
      accountGenerations.set(accountId, (accountGenerations.get(accountId) ?? 0) + 1);
      return cache.deleteWhere((_k, v) => v.accountId === accountId);
    },
    stats,
  };
}

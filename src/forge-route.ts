import type { AtlassianEndpoints } from './atlassian/endpoints.js';
import type { BackgroundTasks } from './background-tasks.js';
import { createForgeRateLimiter } from './broker/forge-rate-limiter.js';
import { createForgeTokenBroker, type ForgeTokenBroker } from './broker/forge-token-broker.js';
import { createSharedForgeRateLimiter } from './broker/shared-forge-rate-limiter.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './server/metrics.js';
import type { Store } from './store/create-store.js';
import type { Repositories } from './store/repositories.js';
import { createForgeInstallations, type ForgeInstallations } from './tenants/forge-installation.js';

/** How long an offline-token exchange may queue for the app's per-minute budget before RATE_LIMITED. */
const FORGE_BUDGET_MAX_WAIT_MS = 2_000;

export interface ForgeRouteDeps {
  config: Config;
  store: Store;
  repos: Repositories;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  background: BackgroundTasks;
  endpoints: AtlassianEndpoints;
  fetch: typeof fetch;
}

/**
 * The Forge route's token side, for the composition root (gateway.ts): the installations (tenants keyed by
 * installationId, recovered by cloudId) and, when the gateway is a Forge app's remote, the offline-token
 * broker over their stored system tokens within the app's per-minute budget.
 */
export function createForgeRoute(d: ForgeRouteDeps): { installations: ForgeInstallations; broker: ForgeTokenBroker | null } {
  const { config, store, repos, clock } = d;
  let broker: ForgeTokenBroker | null = null;
  const installations = createForgeInstallations({ repos, clock, onTenantGone: (tenant) => broker?.purgeTenant(tenant) });
  if (!config.forge.appId) return { installations, broker };
  broker = createForgeTokenBroker(
    {
      installations,
      graphqlUrl: d.endpoints.forgeGraphqlUrl,
      fetch: d.fetch,
      clock,
      logger: d.logger,
      // PostgreSQL means one budget for every instance on the database; SQLite means this one instance.
      limiter:
        store.dialect === 'postgres'
          ? createSharedForgeRateLimiter({ store, perMinute: config.forge.offlineTokensPerMinute, maxWaitMs: FORGE_BUDGET_MAX_WAIT_MS, clock })
          : createForgeRateLimiter({ perMinute: config.forge.offlineTokensPerMinute, maxWaitMs: FORGE_BUDGET_MAX_WAIT_MS, clock }),
      onGrant: ({ outcome }) => d.metrics.tokenGrants.inc({ route: 'forge', outcome }),
      // Forge has no uninstall event: a system token it refuses is the sign. The installation is marked
      // (not silently kept as active) until its next invocation shows it alive again.
      onSystemTokenRejected: (tenant) =>
        d.background.run('forge:token-rejected', async () => {
          await repos.tenants.setStatus(tenant.id, 'disabled');
          await repos.tokens.deleteForTenant('forge', tenant.appKey, tenant.tenantKey);
          await repos.audit.append({ action: 'tenant.token_rejected', actorType: 'system', cloudId: tenant.cloudId, route: 'forge', reason: 'system_token_rejected', data: { installationId: tenant.tenantKey } });
        }),
    },
    { refreshSkewMs: config.broker.refreshSkewSeconds * 1000, cacheMaxEntries: config.broker.cacheMaxEntries, contextIdForm: config.forge.contextIdForm },
  );
  return { installations, broker };
}

import type { Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';
import { createForgeDeliveries, scheduledPayload, type DeliveryRecord, type ForgeDeliveries } from './forge-deliveries.js';
import {
  approveUpgrade,
  deployUpgrade,
  findInstallation,
  installForgeApp,
  reinstallForgeApp,
  uninstallForgeApp,
  upgradeConnectToForge,
  type DeployInput,
  type ForgeResult,
  type InstallInput,
} from './forge-installs.js';
import { registerForgeGraphqlRoutes } from './graphql-routes.js';
import { registerCustomUiRoutes } from './custom-ui-routes.js';
import { subscribeProductEvents } from './product-events.js';
import type { ForgeInstallation } from './forge-types.js';

/** The Forge platform of the sandbox: what the control API and tests drive. */
export interface SandboxForge {
  install(siteKey: string, input: InstallInput): Promise<ForgeResult<ForgeInstallation>>;
  find(siteKey: string, app: string): ForgeInstallation | undefined;
  byInstallationId(installationId: string): ForgeInstallation | undefined;
  deployUpgrade(inst: ForgeInstallation, input: DeployInput & { actor?: string }): Promise<ForgeResult<{ pendingApproval: boolean; version: string }>>;
  approveUpgrade(inst: ForgeInstallation, actor?: string): Promise<ForgeResult<ForgeInstallation>>;
  uninstall(inst: ForgeInstallation): ForgeResult<ForgeInstallation>;
  reinstall(inst: ForgeInstallation): Promise<ForgeResult<ForgeInstallation>>;
  upgradeConnectToForge(siteKey: string, appKey: string, input: InstallInput): Promise<ForgeResult<ForgeInstallation>>;
  /** Runs one scheduled trigger now, whatever its interval; resolves after the first attempt. */
  runScheduledTrigger(inst: ForgeInstallation, key: string): Promise<ForgeResult<DeliveryRecord>>;
  /** Expires tokens now (the "system token expired" case): `system` ends the current system token only. */
  expireTokens(inst: ForgeInstallation, which: 'system' | 'all'): number;
  deliveries: ForgeDeliveries;
}

export function createForge(deps: SandboxDeps, app: Hono): SandboxForge {
  const deliveries = createForgeDeliveries(deps, () => deps.state.forgeInstallations.values());
  subscribeProductEvents(deps, deliveries);
  registerForgeGraphqlRoutes(deps, app);
  registerCustomUiRoutes(deps, app);
  app.get('/forge/.well-known/jwks.json', async (c) => c.json(await deps.forgeKeys.jwks(), 200, { 'cache-control': 'public, max-age=300' }));

  return {
    install: (siteKey, input) => installForgeApp(deps, deliveries, siteKey, input),
    find: (siteKey, app) => findInstallation(deps, siteKey, app),
    byInstallationId: (id) => deps.state.forgeInstallations.get(id),
    deployUpgrade: (inst, input) => deployUpgrade(deps, deliveries, inst, input),
    approveUpgrade: (inst, actor) => approveUpgrade(deps, deliveries, inst, actor),
    uninstall: (inst) => uninstallForgeApp(deps, deliveries, inst),
    reinstall: (inst) => reinstallForgeApp(deps, deliveries, inst),
    upgradeConnectToForge: (siteKey, appKey, input) => upgradeConnectToForge(deps, deliveries, siteKey, appKey, input),
    async runScheduledTrigger(inst, key) {
      if (!inst.installed) return { ok: false, status: 409, code: 'NOT_INSTALLED', message: `installation ${inst.installationId} was uninstalled` };
      const t = inst.current.manifest.scheduledTriggers.find((s) => s.key === key);
      if (!t) return { ok: false, status: 404, code: 'NOT_FOUND', message: `no scheduledTrigger "${key}" in the running version` };
      const [record] = await deliveries.deliver(inst, `scheduled:${key}`, [{ endpoint: t.endpoint, moduleKey: key }], scheduledPayload(deps, inst, key));
      return { ok: true, value: record! };
    },
    expireTokens(inst, which) {
      let n = 0;
      const now = deps.clock.now();
      for (const t of deps.state.forgeTokens.values()) {
        if (t.installationId !== inst.installationId) continue;
        if (which === 'system' && t.token !== inst.systemToken?.token) continue;
        t.expiresAt = Math.min(t.expiresAt, now);
        n += 1;
      }
      if (which === 'all' || which === 'system') inst.systemToken = null;
      return n;
    },
    deliveries,
  };
}

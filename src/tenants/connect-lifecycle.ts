import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { ConnectConfig } from '../config.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createInstallKeyResolver, type InstallKeyResolver } from '../atlassian/install-key-resolver.js';
import { verifyConnectJwt } from '../atlassian/verify-connect-jwt.js';
import { verifyInstallToken, type LifecyclePath } from '../atlassian/verify-install-token.js';
import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';
import { ensureCloudId } from './ensure-cloud-id.js';
import { forgeInstallationNamed, moveConnectLinksToForge } from './connect-to-forge.js';

/** A lifecycle callback as it arrived: the raw request target, the Authorization header, the JSON body. */
export interface LifecycleRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

export interface ConnectLifecycle {
  installed(req: LifecycleRequest): Promise<Tenant>;
  uninstalled(req: LifecycleRequest): Promise<Tenant>;
  enabled(req: LifecycleRequest): Promise<Tenant>;
  disabled(req: LifecycleRequest): Promise<Tenant>;
  /** Deletes the data of uninstalled tenants past their retention; returns what was purged. */
  purge(): Promise<Tenant[]>;
}

export interface ConnectLifecycleDeps {
  repos: Repositories;
  clock: Clock;
  fetch: typeof fetch;
  logger: Logger;
  /** Called when a tenant stops being usable (uninstalled), so caches drop its tokens at once. */
  onTenantGone(tenant: Tenant): void;
}

export interface ConnectLifecycleOptions {
  connect: ConnectConfig;
  /** The descriptor's baseUrl (the gateway's public URL). */
  appBaseUrl: string;
  installKeysUrl: string;
  leewaySeconds: number;
  resolver?: InstallKeyResolver;
}

const payloadSchema = z.object({
  key: z.string(),
  clientKey: z.string().min(1).max(200),
  sharedSecret: z.string().min(1).max(1000).optional(),
  baseUrl: z.string().url(),
  displayUrl: z.string().url().optional(),
  productType: z.string().optional(),
  description: z.string().optional(),
  oauthClientId: z.string().min(1).max(200).optional(),
  serviceEntitlementNumber: z.string().optional(),
  entitlementId: z.string().optional(),
  entitlementNumber: z.string().optional(),
  serverVersion: z.string().optional(),
  pluginsVersion: z.string().optional(),
  eventType: z.string().optional(),
  /** Connect-on-Forge (§10.8): the Forge installation this Connect install now belongs to. */
  installationId: z.string().regex(/^ari:cloud:ecosystem::installation\/[A-Za-z0-9-]{1,64}$/).optional(),
});
type LifecyclePayload = z.infer<typeof payloadSchema>;

const DAY_MS = 86_400_000;

/**
 * The Connect lifecycle rules (protocol doc §2): signed installs verified before anything is stored, the
 * shared secret sealed, a reinstall replacing it, uninstall dropping cached tokens at once and scheduling a
 * purge, and `enabled`/`disabled` (HS256 with the stored secret) never reviving an uninstalled tenant.
 * Every refusal happens before the first write, so a refused request changes nothing.
 */
export function createConnectLifecycle(deps: ConnectLifecycleDeps, options: ConnectLifecycleOptions): ConnectLifecycle {
  const resolver = options.resolver ?? createInstallKeyResolver({ keyServerUrl: options.installKeysUrl, fetch: deps.fetch });
  const contextPath = new URL(options.appBaseUrl).pathname.replace(/\/+$/, '');
  const appKey = options.connect.appKey;

  function parsePayload(body: unknown, requireSecret: boolean): LifecyclePayload {
    const parsed = payloadSchema.safeParse(body);
    if (!parsed.success) {
      throw new GatewayError('BAD_REQUEST', 'The lifecycle payload is malformed.', { details: { problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).slice(0, 10) } });
    }
    if (parsed.data.key !== appKey) throw new GatewayError('BAD_REQUEST', `The lifecycle payload is for app "${parsed.data.key}", not this app.`);
    if (requireSecret && !parsed.data.sharedSecret) throw new GatewayError('BAD_REQUEST', 'The installed payload carries no sharedSecret.');
    return parsed.data;
  }

  async function verifySigned(req: LifecycleRequest, payload: LifecyclePayload, path: LifecyclePath): Promise<void> {
    const token = bearerJwt(req.authorization);
    if (!token) throw new GatewayError('INSTALL_SIGNATURE_INVALID', 'Lifecycle callbacks must carry a signed JWT (Authorization: JWT ...).', { details: { reason: 'missing' } });
    await verifyInstallToken(token, { clientKey: payload.clientKey, appBaseUrl: options.appBaseUrl, resolver, clock: deps.clock, leewaySeconds: options.leewaySeconds, expectedPath: path });
  }

  async function verifyWithSecret(req: LifecycleRequest, payload: LifecyclePayload): Promise<Tenant> {
    const token = bearerJwt(req.authorization);
    if (!token) throw new GatewayError('JWT_INVALID', 'The callback carries no JWT.', { details: { reason: 'missing' } });
    const tenant = await deps.repos.tenants.find('connect', appKey, payload.clientKey);
    const verified = await verifyConnectJwt(token, {
      getSharedSecret: async (clientKey) => (tenant && clientKey === tenant.tenantKey ? deps.repos.tenants.sharedSecret(tenant.id) : undefined),
      request: { method: req.method, url: req.url },
      contextPath,
      clock: deps.clock,
      leewaySeconds: options.leewaySeconds,
      allowContextQsh: false,
    });
    if (!tenant || verified.clientKey !== tenant.tenantKey) throw new GatewayError('TENANT_UNKNOWN', 'The callback is for a site that never installed this app.');
    return tenant;
  }

  /**
   * Atlassian keeps one clientKey per app and site, so a second clientKey for the same site means the old
   * install is gone for good (a site restored elsewhere, an emulator restarted without its state). Left in
   * place, two active installs of one app on one site make every link page ask "which site?" and list the
   * same site twice. The newer install takes over: the older ones are folded into it, links kept.
   */
  async function supersedeOlderInstalls(current: Tenant): Promise<void> {
    const sameSite = (t: Tenant) => (t.cloudId !== null && current.cloudId !== null ? t.cloudId === current.cloudId : t.baseUrl === current.baseUrl);
    const older = (await deps.repos.tenants.list()).filter((t) => t.route === 'connect' && t.appKey === appKey && t.id !== current.id && sameSite(t));
    for (const old of older) {
      const moved = await deps.repos.tenants.supersede(old, current.id);
      deps.onTenantGone(old);
      await deps.repos.audit.append({
        action: 'tenant.superseded',
        actorType: 'app',
        actorId: current.tenantKey,
        cloudId: current.cloudId ?? old.cloudId,
        route: 'connect',
        data: { previousClientKey: old.tenantKey, previousStatus: old.status, baseUrl: current.baseUrl, linksMoved: moved.links },
      });
    }
  }

  return {
    async installed(req) {
      const payload = parsePayload(req.body, true);
      await verifySigned(req, payload, '/installed');
      const { sharedSecret, clientKey, baseUrl, displayUrl, productType, oauthClientId, key: _key, ...rest } = payload;
      const previous = await deps.repos.tenants.find('connect', appKey, clientKey);
      const tenant = await deps.repos.tenants.upsert({
        route: 'connect',
        appKey,
        tenantKey: clientKey,
        baseUrl: baseUrl.replace(/\/+$/, ''),
        displayUrl: displayUrl ?? null,
        productType: productType ?? null,
        oauthClientId: oauthClientId ?? null,
        sharedSecret: sharedSecret ?? null,
        cloudId: previous?.cloudId ?? null,
        payload: rest,
      });
      // A reinstall brings a new secret: tokens minted under the old install must not outlive it.
      if (previous) deps.onTenantGone(previous);
      await deps.repos.audit.append({ action: previous ? 'tenant.reinstalled' : 'tenant.installed', actorType: 'app', actorId: clientKey, cloudId: tenant.cloudId, route: 'connect', data: { baseUrl: tenant.baseUrl } });
      // Without it the install still stands; the cloud id is looked up again when it is first needed.
      await ensureCloudId(deps, tenant);
      const current = (await deps.repos.tenants.get(tenant.id)) ?? tenant;
      await supersedeOlderInstalls(current);
      // Upgraded to the Forge version: if Forge already invoked the gateway for it, the links move now.
      const forge = await forgeInstallationNamed(deps.repos, current);
      if (forge) await moveConnectLinksToForge(deps.repos, { connect: current, forge });
      return current;
    },

    async uninstalled(req) {
      const payload = parsePayload(req.body, false);
      await verifySigned(req, payload, '/uninstalled');
      const tenant = await deps.repos.tenants.find('connect', appKey, payload.clientKey);
      if (!tenant) throw new GatewayError('TENANT_UNKNOWN', 'The uninstall is for a site that never installed this app.');
      const purgeAfter = deps.clock.now() + options.connect.tenantRetentionDays * DAY_MS;
      await deps.repos.tenants.setStatus(tenant.id, 'uninstalled', { purgeAfter });
      deps.onTenantGone(tenant);
      await deps.repos.tokens.deleteForTenant('connect', appKey, tenant.tenantKey);
      await deps.repos.audit.append({ action: 'tenant.uninstalled', actorType: 'app', actorId: tenant.tenantKey, cloudId: tenant.cloudId, route: 'connect', data: { purgeAfter } });
      return (await deps.repos.tenants.get(tenant.id)) ?? tenant;
    },

    async enabled(req) {
      const payload = parsePayload(req.body, false);
      const tenant = await verifyWithSecret(req, payload);
      const changed = await deps.repos.tenants.setEnabled(tenant.id, true);
      if (changed) await deps.repos.audit.append({ action: 'tenant.enabled', actorType: 'app', actorId: tenant.tenantKey, cloudId: tenant.cloudId, route: 'connect' });
      return (await deps.repos.tenants.get(tenant.id)) ?? tenant;
    },

    async disabled(req) {
      const payload = parsePayload(req.body, false);
      const tenant = await verifyWithSecret(req, payload);
      const changed = await deps.repos.tenants.setEnabled(tenant.id, false);
      deps.onTenantGone(tenant);
      if (changed) await deps.repos.audit.append({ action: 'tenant.disabled', actorType: 'app', actorId: tenant.tenantKey, cloudId: tenant.cloudId, route: 'connect' });
      return (await deps.repos.tenants.get(tenant.id)) ?? tenant;
    },

    async purge() {
      const due = await deps.repos.tenants.listPurgeable(deps.clock.now());
      for (const t of due) {
        const deleted = await deps.repos.tenants.purge(t);
        await deps.repos.audit.append({ action: 'tenant.purged', actorType: 'system', actorId: t.tenantKey, cloudId: t.cloudId, route: t.route, data: { ...deleted } });
      }
      return due;
    },
  };
}

/** The token of `Authorization: JWT <token>`. */
function bearerJwt(header: string | undefined): string | undefined {
  const m = /^JWT\s+(\S+)$/i.exec(header?.trim() ?? '');
  return m?.[1];
}

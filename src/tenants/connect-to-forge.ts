import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';

/**
 * Connect-on-Forge (protocol doc part 2, §10.8): when a site's Connect install is upgraded to the Forge
 * version of the app, the Connect `installed` callback carries the Forge `installationId`, and Forge
 * invocations for that installation follow. Once both are known, the site's links move to the Forge route
 * (offline user tokens, Connect's successor; Connect support ends 31 January 2027): consented links become
 * route `forge`, admin-mapped ones point at the Forge installation, nobody is asked to consent again, and
 * the audit log says how many moved. Either event may come first, so both sides call this; the second call
 * finds the pair and moves, the first finds nothing yet.
 */
export async function moveConnectLinksToForge(repos: Repositories, pair: { connect: Tenant; forge: Tenant }): Promise<{ consented: number; adminMapped: number } | null> {
  const { connect, forge } = pair;
  if (connect.route !== 'connect' || forge.route !== 'forge') return null;
  if (connect.payload?.['installationId'] !== forge.tenantKey) return null;
  const cloudId = forge.cloudId ?? connect.cloudId;
  if (!cloudId || (connect.cloudId !== null && connect.cloudId !== cloudId)) return null;
  const moved = await repos.links.moveToForge(cloudId, forge.id);
  await repos.audit.append({
    action: 'links.moved_to_forge',
    actorType: 'app',
    actorId: forge.tenantKey,
    cloudId,
    route: 'forge',
    reason: 'connect_upgraded_to_forge',
    data: { clientKey: connect.tenantKey, installationId: forge.tenantKey, linksMoved: moved.consented, adminLinksMoved: moved.adminMapped },
  });
  return moved;
}

/** The site's Connect install that says it became this Forge installation, if any. */
export async function connectInstallOf(repos: Repositories, forge: Tenant): Promise<Tenant | undefined> {
  if (!forge.cloudId) return undefined;
  return (await repos.tenants.findByCloudId(forge.cloudId)).find((t) => t.route === 'connect' && t.payload?.['installationId'] === forge.tenantKey);
}

/** The Forge installation a Connect `installed` callback named, once Forge has invoked the gateway for it. */
export async function forgeInstallationNamed(repos: Repositories, connect: Tenant): Promise<Tenant | undefined> {
  const installationId = connect.payload?.['installationId'];
  if (typeof installationId !== 'string') return undefined;
  const candidates = connect.cloudId ? await repos.tenants.findByCloudId(connect.cloudId) : await repos.tenants.list();
  return candidates.find((t) => t.route === 'forge' && t.tenantKey === installationId);
}

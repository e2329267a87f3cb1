import type { Change } from './change-feed.js';
import type { Store } from './create-store.js';
import type { TenantRoute } from './schema.js';

export interface PurgedCounts {
  tokens: number;
  links: number;
  linkSessions: number;
  knownAccounts: number;
  policies: number;
  /** Rows of the site's email index (keyed hashes), gone with the last installation of the site. */
  emailIndex: number;
}

/**
 * Deletes an uninstalled tenant and the data that only it gave reason to keep, in one transaction: its
 * stored tokens, the install record (with the shared secret), the links made through it and its open link
 * sessions. The site's known accounts, policy and email index go only when no other installation (another route, say
 * 3LO) still serves that site. Links still live at purge time get a `link.revoked` event, so a consumer of
 * the feed learns they are gone. The audit log and the event feed are kept: they are the operator's record.
 */
/** The fields a purge needs (not the whole Tenant, so this file does not depend on tenants-repo). */
export interface PurgeTarget {
  id: string;
  route: TenantRoute;
  appKey: string;
  tenantKey: string;
  cloudId: string | null;
  baseUrl: string;
}

export async function purgeTenant(store: Store, tenant: PurgeTarget, now: number): Promise<PurgedCounts> {
  const changes: Change[] = [{ kind: 'tenant', cloudId: tenant.cloudId, baseUrl: tenant.baseUrl }];
  const counts = await store.db.transaction().execute(async (tx) => {
    const tokens = await tx
      .deleteFrom('tokens')
      .where('route', '=', tenant.route)
      .where('app_key', '=', tenant.appKey)
      .where('tenant_key', '=', tenant.tenantKey)
      .executeTakeFirst();

    const live = await tx
      .selectFrom('links')
      .select(['id', 'cloud_id', 'account_id', 'external_user_id'])
      .where('tenant_id', '=', tenant.id)
      .where('status', 'in', ['pending_confirmation', 'linked', 'reauth_required'])
      .execute();
    for (const l of live) {
      // Only live links are remembered by the hot reads: these are the entries to drop.
      changes.push({ kind: 'link', cloudId: l.cloud_id, externalUserId: l.external_user_id, accountId: l.account_id });
      await tx
        .insertInto('events')
        .values({ at: now, type: 'link.revoked', cloud_id: l.cloud_id, account_id: l.account_id, external_user_id: l.external_user_id, data: JSON.stringify({ linkId: l.id, by: 'system', reason: 'site_purged' }) })
        .execute();
    }
    const links = await tx.deleteFrom('links').where('tenant_id', '=', tenant.id).executeTakeFirst();

    let linkSessions = 0n;
    let knownAccounts = 0n;
    let policies = 0n;
    let emailIndex = 0n;
    await tx.deleteFrom('forge_activity').where('tenant_id', '=', tenant.id).execute();
    await tx.deleteFrom('tenants').where('id', '=', tenant.id).execute();
    if (tenant.cloudId !== null) {
      const route = tenant.route;
      if (route === 'connect' || route === 'oauth') {
        linkSessions = (await tx.deleteFrom('link_sessions').where('cloud_id', '=', tenant.cloudId).where('route', '=', route).executeTakeFirst()).numDeletedRows;
      }
      const others = await tx.selectFrom('tenants').select('id').where('cloud_id', '=', tenant.cloudId).limit(1).execute();
      if (others.length === 0) {
        knownAccounts = (await tx.deleteFrom('known_accounts').where('cloud_id', '=', tenant.cloudId).executeTakeFirst()).numDeletedRows;
        policies = (await tx.deleteFrom('policies').where('cloud_id', '=', tenant.cloudId).executeTakeFirst()).numDeletedRows;
        emailIndex = (await tx.deleteFrom('email_index').where('cloud_id', '=', tenant.cloudId).executeTakeFirst()).numDeletedRows;
        await tx.deleteFrom('email_index_sites').where('cloud_id', '=', tenant.cloudId).execute();
        changes.push({ kind: 'policy', cloudId: tenant.cloudId });
      }
    }
    return {
      tokens: Number(tokens.numDeletedRows),
      links: Number(links.numDeletedRows),
      linkSessions: Number(linkSessions),
      knownAccounts: Number(knownAccounts),
      policies: Number(policies),
      emailIndex: Number(emailIndex),
    };
  });
  store.changes.publish(changes);
  return counts;
}

import type { Change } from './change-feed.js';
import type { Store } from './create-store.js';
import type { TenantRoute } from './schema.js';

/** The parts of the old install this needs (not the Tenant type: tenants-repo imports this file). */
export interface SupersededTenant {
  id: string;
  cloudId: string | null;
  baseUrl: string;
  route: TenantRoute;
  appKey: string;
  tenantKey: string;
}

export interface SupersededCounts {
  links: number;
  tokens: number;
}

/**
 * Folds an older install of an app into the newer install of the same app on the same site, in one
 * transaction: the links made through the old one move to the successor (people stay linked), its stored
 * tokens go (they were minted under a secret that no longer counts) and so does its record with the sealed
 * secret. Unlike a purge nothing of the site is touched: its link sessions, known accounts and policy
 * belong to the site, which is still installed.
 */
export async function supersedeTenant(store: Store, old: SupersededTenant, successorId: string): Promise<SupersededCounts> {
  const moved: Change[] = [{ kind: 'tenant', cloudId: old.cloudId, baseUrl: old.baseUrl }];
  const counts = await store.db.transaction().execute(async (tx) => {
    const links = await tx
      .updateTable('links')
      .set({ tenant_id: successorId })
      .where('tenant_id', '=', old.id)
      .returning(['cloud_id', 'external_user_id', 'account_id', 'status'])
      .execute();
    // Remembered links carry their tenant id; only live ones are remembered.
    for (const l of links) if (l.status !== 'revoked') moved.push({ kind: 'link', cloudId: l.cloud_id, externalUserId: l.external_user_id, accountId: l.account_id });
    const tokens = await tx
      .deleteFrom('tokens')
      .where('route', '=', old.route)
      .where('app_key', '=', old.appKey)
      .where('tenant_key', '=', old.tenantKey)
      .executeTakeFirst();
    await tx.deleteFrom('forge_activity').where('tenant_id', '=', old.id).execute();
    await tx.deleteFrom('tenants').where('id', '=', old.id).execute();
    return { links: links.length, tokens: Number(tokens.numDeletedRows) };
  });
  store.changes.publish(moved);
  return counts;
}

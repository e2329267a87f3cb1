import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';
import type { PoliciesTable } from './schema.js';

export type ActingMode = PoliciesTable['acting'];

export interface Policy {
  cloudId: string;
  /** linked_only: act only as users who consented; admin_mapped: also as admin-mapped users; any_user: as anyone. */
  acting: ActingMode;
  /** Per route, the scopes the app may ask for on this site; absent = the configured defaults. */
  allowedScopes: Partial<Record<'connect' | 'oauth', string[]>>;
  updatedAt: number | null;
  updatedBy: string | null;
}

export interface PoliciesRepo {
  /** The site's policy; a site without one gets the safe default (linked users only). */
  get(cloudId: string): Promise<Policy>;
  set(cloudId: string, patch: { acting?: ActingMode; allowedScopes?: Policy['allowedScopes'] }, updatedBy: string | null): Promise<Policy>;
}

export function createPoliciesRepo(deps: { store: Store; clock: Clock }): PoliciesRepo {
  const { db } = deps.store;
  const repo: PoliciesRepo = {
    async get(cloudId) {
      const r = await db.selectFrom('policies').selectAll().where('cloud_id', '=', cloudId).executeTakeFirst();
      if (!r) return { cloudId, acting: 'linked_only', allowedScopes: {}, updatedAt: null, updatedBy: null };
      return { cloudId, acting: r.acting, allowedScopes: JSON.parse(r.allowed_scopes) as Policy['allowedScopes'], updatedAt: r.updated_at, updatedBy: r.updated_by };
    },
    async set(cloudId, patch, updatedBy) {
      const current = await repo.get(cloudId);
      const next = { acting: patch.acting ?? current.acting, allowedScopes: patch.allowedScopes ?? current.allowedScopes };
      const values = { acting: next.acting, allowed_scopes: JSON.stringify(next.allowedScopes), updated_at: deps.clock.now(), updated_by: updatedBy };
      await db
        .insertInto('policies')
        .values({ cloud_id: cloudId, ...values })
        .onConflict((oc) => oc.column('cloud_id').doUpdateSet(values))
        .execute();
      deps.store.changes.publish({ kind: 'policy', cloudId });
      return repo.get(cloudId);
    },
  };
  return repo;
}

import { sql, type SqlBool } from 'kysely';
import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';
import type { KnownAccountsTable } from './schema.js';

export interface KnownAccount {
  cloudId: string;
  accountId: string;
  displayName: string | null;
  publicName: string | null;
  email: string | null;
  accountType: string | null;
  source: string;
  seenCount: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface Sighting {
  cloudId: string;
  accountId: string;
  /** Where it was seen: `webhook:page_created`, `iframe`, `oauth:/me`, ... */
  source: string;
  displayName?: string | null;
  publicName?: string | null;
  email?: string | null;
  accountType?: string | null;
}

export interface KnownAccountsRepo {
  /** Records that an account was seen; names given now replace older ones, absent ones keep what was known. */
  record(s: Sighting): Promise<void>;
  get(cloudId: string, accountId: string): Promise<KnownAccount | undefined>;
  list(cloudId: string, options?: { limit?: number; offset?: number; search?: string }): Promise<KnownAccount[]>;
  /** Accounts seen with this email on any site (case-insensitive), for the admin console's search. */
  findByEmail(email: string, options?: { limit?: number }): Promise<KnownAccount[]>;
}

export function createKnownAccountsRepo(deps: { store: Store; clock: Clock }): KnownAccountsRepo {
  const { db } = deps.store;
  return {
    async record(s) {
      const now = deps.clock.now();
      await db
        .insertInto('known_accounts')
        .values({
          cloud_id: s.cloudId,
          account_id: s.accountId,
          display_name: s.displayName ?? null,
          public_name: s.publicName ?? null,
          email: s.email || null,
          account_type: s.accountType ?? null,
          source: s.source,
          seen_count: 1,
          first_seen_at: now,
          last_seen_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['cloud_id', 'account_id']).doUpdateSet((eb) => ({
            display_name: eb.fn.coalesce(eb.ref('excluded.display_name'), eb.ref('known_accounts.display_name')),
            public_name: eb.fn.coalesce(eb.ref('excluded.public_name'), eb.ref('known_accounts.public_name')),
            email: eb.fn.coalesce(eb.ref('excluded.email'), eb.ref('known_accounts.email')),
            account_type: eb.fn.coalesce(eb.ref('excluded.account_type'), eb.ref('known_accounts.account_type')),
            source: eb.ref('excluded.source'),
            seen_count: eb('known_accounts.seen_count', '+', 1),
            last_seen_at: eb.ref('excluded.last_seen_at'),
          })),
        )
        .execute();
    },
    async get(cloudId, accountId) {
      const row = await db.selectFrom('known_accounts').selectAll().where('cloud_id', '=', cloudId).where('account_id', '=', accountId).executeTakeFirst();
      return row && toKnown(row);
    },
    async list(cloudId, options = {}) {
      let q = db.selectFrom('known_accounts').selectAll().where('cloud_id', '=', cloudId).orderBy('last_seen_at', 'desc').orderBy('account_id').limit(Math.min(options.limit ?? 100, 1000));
      if (options.offset) q = q.offset(options.offset);
      if (options.search) {
        const like = `%${options.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        q = q.where((eb) =>
          eb.or([
            // Both dialects need the escape character spelled out to treat % and _ in the search literally.
            sql<SqlBool>`lower(display_name) like ${like} escape '\\'`,
            sql<SqlBool>`lower(email) like ${like} escape '\\'`,
            eb('account_id', '=', options.search ?? ''),
          ]),
        );
      }
      return (await q.execute()).map(toKnown);
    },
    async findByEmail(email, options = {}) {
      const rows = await db
        .selectFrom('known_accounts')
        .selectAll()
        .where(sql<SqlBool>`lower(email) = ${email.trim().toLowerCase()}`)
        .orderBy('last_seen_at', 'desc')
        .limit(Math.min(options.limit ?? 100, 1000))
        .execute();
      return rows.map(toKnown);
    },
  };
}

function toKnown(r: KnownAccountsTable): KnownAccount {
  return {
    cloudId: r.cloud_id,
    accountId: r.account_id,
    displayName: r.display_name,
    publicName: r.public_name,
    email: r.email,
    accountType: r.account_type,
    source: r.source,
    seenCount: r.seen_count,
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
  };
}

import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';
import type { EmailIndexSitesTable } from './schema.js';

export interface EmailIndexEntry {
  accountId: string;
  /** Keyed hash of the email (store/email-hasher.ts); null when the email API gave none for the account. */
  emailHash: string | null;
  keyId: string | null;
}

export interface EmailIndexSite {
  cloudId: string;
  nextStart: number;
  passStartedAt: number | null;
  lastPassAt: number | null;
  lastRunAt: number | null;
  lastError: string | null;
}

export interface EmailIndexStats {
  accounts: number;
  withEmail: number;
  pending: number;
}

export interface EmailIndexRepo {
  /**
   * Accounts a product event named: new ones, and those last asked before `staleBefore`, wait for the email
   * API (`pending`). Returns how many now wait.
   */
  markPending(cloudId: string, accountIds: readonly string[], staleBefore: number): Promise<number>;
  pending(cloudId: string, limit: number): Promise<string[]>;
  /** What the email API said for these accounts, now: each row is written (or replaced) as checked and seen. */
  record(cloudId: string, entries: readonly EmailIndexEntry[]): Promise<void>;
  /** Rows of the site whose hash is one of these (one hash per key id still in use). */
  find(cloudId: string, hashes: readonly string[]): Promise<EmailIndexEntry[]>;
  /** Key ids the site's rows were hashed under. */
  keyIds(cloudId: string): Promise<string[]>;
  /** At the end of a pass: accounts the search no longer lists (and no event named since) leave the index. */
  deleteUnseenSince(cloudId: string, since: number): Promise<number>;
  site(cloudId: string): Promise<EmailIndexSite | undefined>;
  saveSite(cloudId: string, patch: Partial<Omit<EmailIndexSite, 'cloudId'>>): Promise<EmailIndexSite>;
  stats(cloudId: string): Promise<EmailIndexStats>;
  /** Rows per key id over every site, for `keys status` and `keys retire`. */
  countByKey(): Promise<{ keyId: string; count: number }[]>;
  /** Drops rows hashed under a key (they come back, re-hashed, with the next pass of their site). */
  deleteForKey(keyId: string): Promise<number>;
}

const CHUNK = 200;

export function createEmailIndexRepo(deps: { store: Store; clock: Clock }): EmailIndexRepo {
  const { db } = deps.store;
  const toSite = (r: EmailIndexSitesTable): EmailIndexSite => ({
    cloudId: r.cloud_id,
    nextStart: r.next_start,
    passStartedAt: r.pass_started_at,
    lastPassAt: r.last_pass_at,
    lastRunAt: r.last_run_at,
    lastError: r.last_error,
  });
  const repo: EmailIndexRepo = {
    async markPending(cloudId, accountIds, staleBefore) {
      const ids = [...new Set(accountIds)];
      if (ids.length === 0) return 0;
      const now = deps.clock.now();
      for (let i = 0; i < ids.length; i += CHUNK) {
        const slice = ids.slice(i, i + CHUNK);
        await db
          .insertInto('email_index')
          .values(slice.map((accountId) => ({ cloud_id: cloudId, account_id: accountId, email_hash: null, key_id: null, checked_at: null, seen_at: now })))
          .onConflict((oc) => oc.columns(['cloud_id', 'account_id']).doUpdateSet({ seen_at: now }))
          .execute();
        await db.updateTable('email_index').set({ checked_at: null }).where('cloud_id', '=', cloudId).where('account_id', 'in', slice).where('checked_at', '<', staleBefore).execute();
      }
      const waiting = await db
        .selectFrom('email_index')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('cloud_id', '=', cloudId)
        .where('account_id', 'in', ids.slice(0, 1000))
        .where('checked_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(waiting.n);
    },
    async pending(cloudId, limit) {
      const rows = await db.selectFrom('email_index').select('account_id').where('cloud_id', '=', cloudId).where('checked_at', 'is', null).orderBy('seen_at').orderBy('account_id').limit(limit).execute();
      return rows.map((r) => r.account_id);
    },
    async record(cloudId, entries) {
      const now = deps.clock.now();
      for (let i = 0; i < entries.length; i += CHUNK) {
        const rows = entries.slice(i, i + CHUNK).map((e) => ({ cloud_id: cloudId, account_id: e.accountId, email_hash: e.emailHash, key_id: e.keyId, checked_at: now, seen_at: now }));
        if (rows.length === 0) continue;
        await db
          .insertInto('email_index')
          .values(rows)
          .onConflict((oc) =>
            oc.columns(['cloud_id', 'account_id']).doUpdateSet((eb) => ({
              email_hash: eb.ref('excluded.email_hash'),
              key_id: eb.ref('excluded.key_id'),
              checked_at: eb.ref('excluded.checked_at'),
              seen_at: eb.ref('excluded.seen_at'),
            })),
          )
          .execute();
      }
    },
    async find(cloudId, hashes) {
      if (hashes.length === 0) return [];
      const rows = await db.selectFrom('email_index').select(['account_id', 'email_hash', 'key_id']).where('cloud_id', '=', cloudId).where('email_hash', 'in', [...hashes]).orderBy('account_id').execute();
      return rows.map((r) => ({ accountId: r.account_id, emailHash: r.email_hash, keyId: r.key_id }));
    },
    async keyIds(cloudId) {
      const rows = await db.selectFrom('email_index').select('key_id').distinct().where('cloud_id', '=', cloudId).where('key_id', 'is not', null).execute();
      return rows.map((r) => r.key_id as string).sort();
    },
    async deleteUnseenSince(cloudId, since) {
      const r = await db.deleteFrom('email_index').where('cloud_id', '=', cloudId).where('seen_at', '<', since).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async site(cloudId) {
      const r = await db.selectFrom('email_index_sites').selectAll().where('cloud_id', '=', cloudId).executeTakeFirst();
      return r && toSite(r);
    },
    async saveSite(cloudId, patch) {
      const now = deps.clock.now();
      const prior = await repo.site(cloudId);
      const next: EmailIndexSite = { cloudId, nextStart: 0, passStartedAt: null, lastPassAt: null, lastRunAt: null, lastError: null, ...prior, ...patch };
      const row = {
        next_start: next.nextStart,
        pass_started_at: next.passStartedAt,
        last_pass_at: next.lastPassAt,
        last_run_at: next.lastRunAt,
        last_error: next.lastError,
        updated_at: now,
      };
      await db
        .insertInto('email_index_sites')
        .values({ cloud_id: cloudId, ...row })
        .onConflict((oc) => oc.column('cloud_id').doUpdateSet(row))
        .execute();
      return next;
    },
    async stats(cloudId) {
      const r = await db
        .selectFrom('email_index')
        .select((eb) => [
          eb.fn.countAll().as('accounts'),
          eb.fn.count('email_hash').as('withEmail'),
          eb.fn.sum(eb.case().when('checked_at', 'is', null).then(1).else(0).end()).as('pending'),
        ])
        .where('cloud_id', '=', cloudId)
        .executeTakeFirstOrThrow();
      return { accounts: Number(r.accounts), withEmail: Number(r.withEmail), pending: Number(r.pending ?? 0) };
    },
    async countByKey() {
      const rows = await db.selectFrom('email_index').select((eb) => ['key_id', eb.fn.countAll().as('n')]).where('key_id', 'is not', null).groupBy('key_id').orderBy('key_id').execute();
      return rows.map((r) => ({ keyId: r.key_id as string, count: Number(r.n) }));
    },
    async deleteForKey(keyId) {
      const r = await db.deleteFrom('email_index').where('key_id', '=', keyId).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
  return repo;
}

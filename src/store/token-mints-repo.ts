import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';

export interface MintBucket {
  /** Start of the minute, ms since the epoch. */
  minute: number;
  route: string;
  count: number;
}

export interface TokenMintsRepo {
  /** Counts one token minted now (or at `at`) on a route: one upsert of that minute's bucket. */
  record(route: string, at?: number): Promise<void>;
  /** Buckets from `since` (inclusive) on, oldest first. */
  since(since: number): Promise<MintBucket[]>;
  /** Drops buckets older than `before`; returns how many. */
  deleteBefore(before: number): Promise<number>;
}

export const MINUTE_MS = 60_000;

/**
 * Token mints per minute and route, for the admin overview. Every gateway instance adds to the same
 * buckets (an atomic `count = count + 1` upsert), so the chart is the whole deployment's, and a grant
 * costs one small write on top of the token request it follows.
 */
export function createTokenMintsRepo(deps: { store: Store; clock: Clock }): TokenMintsRepo {
  const { db } = deps.store;
  return {
    async record(route, at) {
      const minute = Math.floor((at ?? deps.clock.now()) / MINUTE_MS) * MINUTE_MS;
      await db
        .insertInto('token_mints')
        .values({ minute, route, count: 1 })
        .onConflict((oc) => oc.columns(['minute', 'route']).doUpdateSet((eb) => ({ count: eb('token_mints.count', '+', 1) })))
        .execute();
    },
    async since(since) {
      const rows = await db.selectFrom('token_mints').selectAll().where('minute', '>=', since).orderBy('minute').orderBy('route').execute();
      return rows.map((r) => ({ minute: Number(r.minute), route: r.route, count: Number(r.count) }));
    },
    async deleteBefore(before) {
      const r = await db.deleteFrom('token_mints').where('minute', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

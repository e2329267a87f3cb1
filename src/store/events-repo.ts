import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';

export interface FeedEvent {
  id: number;
  at: number;
  type: string;
  cloudId: string | null;
  accountId: string | null;
  externalUserId: string | null;
  data: Record<string, unknown>;
}

/** The durable event feed (`GET /v1/events?after=`): ids only grow, so a consumer's cursor is the last id. */
export interface EventsRepo {
  append(e: Omit<FeedEvent, 'id' | 'at'>): Promise<number>;
  after(cursor: number, limit: number): Promise<FeedEvent[]>;
}

export function createEventsRepo(deps: { store: Store; clock: Clock }): EventsRepo {
  const { db } = deps.store;
  return {
    async append(e) {
      const row = await db
        .insertInto('events')
        .values({ at: deps.clock.now(), type: e.type, cloud_id: e.cloudId, account_id: e.accountId, external_user_id: e.externalUserId, data: JSON.stringify(e.data) })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    },
    async after(cursor, limit) {
      const rows = await db.selectFrom('events').selectAll().where('id', '>', cursor).orderBy('id').limit(Math.min(Math.max(limit, 1), 1000)).execute();
      return rows.map((r) => ({
        id: Number(r.id),
        at: r.at,
        type: r.type,
        cloudId: r.cloud_id,
        accountId: r.account_id,
        externalUserId: r.external_user_id,
        data: JSON.parse(r.data) as Record<string, unknown>,
      }));
    },
  };
}

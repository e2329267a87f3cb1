import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';
import type { AuditEventsTable } from './schema.js';

export interface AuditEvent {
  id: number;
  at: number;
  action: string;
  actorType: AuditEventsTable['actor_type'];
  actorId: string | null;
  cloudId: string | null;
  accountId: string | null;
  externalUserId: string | null;
  route: string | null;
  reason: string | null;
  data: Record<string, unknown> | null;
}

export type AuditInput = Pick<AuditEvent, 'action' | 'actorType'> & Partial<Omit<AuditEvent, 'id' | 'at' | 'action' | 'actorType'>>;

export interface AuditQuery {
  action?: string;
  cloudId?: string;
  accountId?: string;
  externalUserId?: string;
  actorId?: string;
  /** Only events at or after this time (ms). */
  since?: number;
  /** Only events before this time (ms). */
  until?: number;
  /** Only events with an id below this one (for paging backwards). */
  before?: number;
  limit?: number;
}

/** Append-only: there is no update or delete here, on purpose. */
export interface AuditRepo {
  append(event: AuditInput): Promise<number>;
  query(q?: AuditQuery): Promise<AuditEvent[]>;
  /** How many events match (same filters as query, without paging), e.g. failed sign-ins in a window. */
  count(q: Omit<AuditQuery, 'before' | 'limit'>): Promise<number>;
}

export function createAuditRepo(deps: { store: Store; clock: Clock }): AuditRepo {
  const { db } = deps.store;
  const filtered = (q: AuditQuery) => {
    let sel = db.selectFrom('audit_events');
    if (q.action) sel = sel.where('action', '=', q.action);
    if (q.cloudId) sel = sel.where('cloud_id', '=', q.cloudId);
    if (q.accountId) sel = sel.where('account_id', '=', q.accountId);
    if (q.externalUserId) sel = sel.where('external_user_id', '=', q.externalUserId);
    if (q.actorId) sel = sel.where('actor_id', '=', q.actorId);
    if (q.since !== undefined) sel = sel.where('at', '>=', q.since);
    if (q.until !== undefined) sel = sel.where('at', '<', q.until);
    if (q.before !== undefined) sel = sel.where('id', '<', q.before);
    return sel;
  };
  return {
    async append(e) {
      const row = await db
        .insertInto('audit_events')
        .values({
          at: deps.clock.now(),
          action: e.action,
          actor_type: e.actorType,
          actor_id: e.actorId ?? null,
          cloud_id: e.cloudId ?? null,
          account_id: e.accountId ?? null,
          external_user_id: e.externalUserId ?? null,
          route: e.route ?? null,
          reason: e.reason ?? null,
          data: e.data ? JSON.stringify(e.data) : null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    },
    async query(q = {}) {
      const sel = filtered(q).selectAll().orderBy('id', 'desc').limit(Math.min(Math.max(q.limit ?? 100, 1), 1000));
      return (await sel.execute()).map((r) => ({
        id: Number(r.id),
        at: r.at,
        action: r.action,
        actorType: r.actor_type,
        actorId: r.actor_id,
        cloudId: r.cloud_id,
        accountId: r.account_id,
        externalUserId: r.external_user_id,
        route: r.route,
        reason: r.reason,
        data: r.data ? (JSON.parse(r.data) as Record<string, unknown>) : null,
      }));
    },
    async count(q) {
      const r = await filtered(q).select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}

import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';
import type { LinkSessionStatus, LinkSessionsTable } from './schema.js';

export interface LinkSession {
  id: string;
  externalUserId: string;
  cloudId: string | null;
  route: 'connect' | 'oauth';
  returnUrl: string | null;
  status: LinkSessionStatus;
  requireConfirmation: boolean;
  linkId: string | null;
  emailHint: string | null;
  apiKeyId: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  completedAt: number | null;
  hasCompletionCode: boolean;
  pendingAccountId: string | null;
  pendingData: Record<string, unknown> | null;
}

export interface LinkSessionsRepo {
  insert(row: LinkSessionsTable): Promise<void>;
  get(id: string): Promise<LinkSession | undefined>;
  byTokenHash(tokenHash: string): Promise<LinkSession | undefined>;
  byStateHash(stateHash: string): Promise<LinkSession | undefined>;
  /** The stored completion-code hash (kept out of LinkSession so it never travels further than needed). */
  completionCodeHash(id: string): Promise<string | null>;
  /**
   * Moves a session on, only from the given statuses (compare-and-set), so a replayed or concurrent
   * decision finds the session already moved and changes nothing.
   */
  transition(id: string, from: LinkSessionStatus[], patch: Partial<Pick<LinkSessionsTable, 'status' | 'link_id' | 'completion_code_hash' | 'oauth_state_hash' | 'expires_at' | 'used_at' | 'completed_at' | 'cloud_id' | 'pending_account_id' | 'pending_data'>>): Promise<boolean>;
  list(q?: { externalUserId?: string; status?: LinkSessionStatus; route?: 'connect' | 'oauth'; limit?: number; offset?: number }): Promise<LinkSession[]>;
  /** Sessions still `pending_confirmation` whose completion code lapsed at or before `now`. */
  staleClaims(now: number): Promise<LinkSession[]>;
  /** Deletes sessions that expired before `before` (whatever their outcome); returns how many. */
  deleteExpired(before: number): Promise<number>;
}

export function createLinkSessionsRepo(deps: { store: Store; clock: Clock }): LinkSessionsRepo {
  const { db } = deps.store;
  const select = () => db.selectFrom('link_sessions').selectAll();
  return {
    async insert(row) {
      await db.insertInto('link_sessions').values(row).execute();
    },
    async get(id) {
      const r = await select().where('id', '=', id).executeTakeFirst();
      return r && toSession(r);
    },
    async byTokenHash(h) {
      const r = await select().where('token_hash', '=', h).executeTakeFirst();
      return r && toSession(r);
    },
    async byStateHash(h) {
      const r = await select().where('oauth_state_hash', '=', h).executeTakeFirst();
      return r && toSession(r);
    },
    async completionCodeHash(id) {
      const r = await db.selectFrom('link_sessions').select('completion_code_hash').where('id', '=', id).executeTakeFirst();
      return r?.completion_code_hash ?? null;
    },
    async transition(id, from, patch) {
      const r = await db.updateTable('link_sessions').set(patch).where('id', '=', id).where('status', 'in', from).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async deleteExpired(before) {
      const r = await db.deleteFrom('link_sessions').where('expires_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async staleClaims(now) {
      return (await select().where('status', '=', 'pending_confirmation').where('expires_at', '<=', now).limit(1000).execute()).map(toSession);
    },
    async list(q = {}) {
      let s = select().orderBy('created_at', 'desc').orderBy('id').limit(Math.min(q.limit ?? 100, 1000));
      if (q.externalUserId) s = s.where('external_user_id', '=', q.externalUserId);
      if (q.status) s = s.where('status', '=', q.status);
      if (q.route) s = s.where('route', '=', q.route);
      if (q.offset) s = s.offset(q.offset);
      return (await s.execute()).map(toSession);
    },
  };
}

function toSession(r: LinkSessionsTable): LinkSession {
  return {
    id: r.id,
    externalUserId: r.external_user_id,
    cloudId: r.cloud_id,
    route: r.route,
    returnUrl: r.return_url,
    status: r.status,
    requireConfirmation: r.require_confirmation === 1,
    linkId: r.link_id,
    emailHint: r.email_hint,
    apiKeyId: r.api_key_id,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    usedAt: r.used_at,
    completedAt: r.completed_at,
    hasCompletionCode: r.completion_code_hash !== null,
    pendingAccountId: r.pending_account_id,
    pendingData: r.pending_data ? (JSON.parse(r.pending_data) as Record<string, unknown>) : null,
  };
}

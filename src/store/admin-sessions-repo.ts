import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';
import { hashToken, newId, newSecretToken } from './ids.js';
import type { AdminSessionsTable } from './schema.js';

export interface AdminSession {
  id: string;
  clientIp: string | null;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export interface AdminSessionsRepo {
  /** Starts a session; the returned token goes into the cookie and is never stored (only its hash). */
  create(input: { maxAgeMs: number; clientIp: string | null; binding?: string }): Promise<{ session: AdminSession; token: string }>;
  /**
   * The live session a cookie token belongs to. A session past its absolute end or idle for `idleMs` is
   * deleted on sight and not returned. Activity is recorded at most once a minute (a write per page view
   * would be waste), which is the idle timeout's precision.
   */
  verify(token: string, options: { idleMs: number; binding?: string }): Promise<AdminSession | undefined>;
  /** Ends the session of a token; false when there was none. */
  delete(token: string, binding?: string): Promise<boolean>;
  /** Deletes sessions past their absolute end or idle since before `idleBefore`; returns how many. */
  deleteExpired(idleBefore: number): Promise<number>;
}

const TOKEN_PREFIX = 'oba';

/**
 * What is stored for a token. `binding` (derived from the admin secret by the caller) is hashed in, so
 * changing the secret ends every session at once: their stored hashes no longer match any cookie.
 */
const stored = (token: string, binding = ''): string => hashToken(binding === '' ? token : `${binding}:${token}`);

export function createAdminSessionsRepo(deps: { store: Store; clock: Clock }): AdminSessionsRepo {
  const { db } = deps.store;
  return {
    async create(input) {
      const now = deps.clock.now();
      const token = newSecretToken(TOKEN_PREFIX);
      const row: AdminSessionsTable = { id: newId(), token_hash: stored(token, input.binding), client_ip: input.clientIp, created_at: now, last_seen_at: now, expires_at: now + input.maxAgeMs };
      await db.insertInto('admin_sessions').values(row).execute();
      return { session: toSession(row), token };
    },
    async verify(token, options) {
      if (!token.startsWith(`${TOKEN_PREFIX}_`) || token.length > 200) return undefined;
      const hash = stored(token, options.binding);
      const row = await db.selectFrom('admin_sessions').selectAll().where('token_hash', '=', hash).executeTakeFirst();
      if (!row) return undefined;
      const now = deps.clock.now();
      if (now >= row.expires_at || now - row.last_seen_at >= options.idleMs) {
        await db.deleteFrom('admin_sessions').where('id', '=', row.id).execute();
        return undefined;
      }
      if (now - row.last_seen_at >= 60_000) {
        await db.updateTable('admin_sessions').set({ last_seen_at: now }).where('id', '=', row.id).execute();
        row.last_seen_at = now;
      }
      return toSession(row);
    },
    async delete(token, binding) {
      const r = await db.deleteFrom('admin_sessions').where('token_hash', '=', stored(token, binding)).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async deleteExpired(idleBefore) {
      const now = deps.clock.now();
      const r = await db
        .deleteFrom('admin_sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<', idleBefore)]))
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

function toSession(r: AdminSessionsTable): AdminSession {
  return { id: r.id, clientIp: r.client_ip, createdAt: r.created_at, lastSeenAt: r.last_seen_at, expiresAt: r.expires_at };
}

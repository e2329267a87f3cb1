import { sql, type Kysely } from 'kysely';
import type { Store } from './create-store.js';
import type { Database } from './schema.js';

/**
 * Runs `work` in a short read-then-write transaction and commits it; a throw rolls it back. `work` must use
 * the executor it is given (on SQLite the store's one connection is held here) and must not wait on the
 * network: this is for the few statements that commit what a network call returned.
 *
 * - PostgreSQL: an ordinary `BEGIN` (read committed). Callers guard their writes with compare-and-set.
 * - SQLite: `BEGIN IMMEDIATE`, so the write lock is taken before the first read. A deferred transaction
 *   that reads and then writes fails at once with SQLITE_BUSY_SNAPSHOT when another process wrote in
 *   between; taking the lock first makes it wait (busy_timeout) for that process's equally short write.
 */
export async function writeTransaction<T>(store: Store, work: (executor: Kysely<Database>) => Promise<T>): Promise<T> {
  if (store.dialect === 'postgres') return store.db.transaction().execute(work);
  return store.db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    let result: T;
    try {
      result = await work(conn);
    } catch (e) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw e;
    }
    try {
      await sql`commit`.execute(conn);
    } catch (e) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw e;
    }
    return result;
  });
}

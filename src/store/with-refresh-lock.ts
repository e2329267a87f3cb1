import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { GatewayError } from '../errors.js';
import type { Store } from './create-store.js';
import type { Database } from './schema.js';

export interface RefreshLockOptions {
  /** Give up waiting for the lock after this long (default 15 s): STORE_UNAVAILABLE, `reason: lock_timeout`. */
  waitMs?: number;
  /** SQLite only: pause between tries while another process holds the write lock (default 10 ms). */
  pollMs?: number;
  /** SQLite only, injected for tests; the default is a real timer (the lock is held by another process). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `work` inside a transaction that holds a cross-process lock for `lockKey`, then commits; if `work`
 * throws (or the process dies), everything it wrote is rolled back. `work` must do all its database work
 * through the executor it is given (`repos.tokens.inTransaction(executor)`), never through `store.db`:
 * on SQLite the store has a single connection and it is held here, so using `store.db` would wait forever.
 *
 * - PostgreSQL: `BEGIN`, `SET LOCAL lock_timeout`, `pg_advisory_xact_lock(<64-bit hash of lockKey>)`. The
 *   lock is per key and released by COMMIT/ROLLBACK or when the session dies. A hash collision only makes
 *   two unrelated keys wait for each other.
 * - SQLite: `BEGIN IMMEDIATE` on the store's one connection takes the database's write lock at once, so
 *   every refresh (any key) in every process is serialised; readers are not blocked (WAL). While another
 *   process holds it, the attempt fails fast (busy_timeout 0 during the attempt) and is retried after an
 *   asynchronous pause, so a waiting process keeps serving its event loop. Trade-off: the store's one
 *   connection is held for the whole of `work` (for the broker: one token-endpoint call, bounded by its
 *   timeout), so this process's other queries queue behind it. Many users: use PostgreSQL.
 */
export async function withRefreshLock<T>(store: Store, lockKey: string, work: (executor: Kysely<Database>) => Promise<T>, options: RefreshLockOptions = {}): Promise<T> {
  const waitMs = options.waitMs ?? 15_000;
  if (store.dialect === 'postgres') {
    const id = advisoryLockId(lockKey);
    try {
      return await store.db.transaction().execute(async (tx) => {
        await sql`select set_config('lock_timeout', ${`${Math.max(1, Math.ceil(waitMs))}ms`}, true)`.execute(tx);
        await sql`select pg_advisory_xact_lock(${id}::bigint)`.execute(tx);
        return work(tx);
      });
    } catch (e) {
      if (pgCode(e) === '55P03') throw lockTimeout(waitMs, e);
      throw e;
    }
  }
  return store.db.connection().execute(async (conn) => {
    await beginImmediate(conn, waitMs, options.pollMs ?? 10, options.sleep ?? realSleep);
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

/** The PostgreSQL advisory lock id of a key: the first 8 bytes of its SHA-256, as a signed 64-bit decimal. */
export function advisoryLockId(lockKey: string): string {
  return createHash('sha256').update(`onbehalf:refresh-lock:${lockKey}`).digest().readBigInt64BE(0).toString();
}

async function beginImmediate(conn: Kysely<Database>, waitMs: number, pollMs: number, sleep: (ms: number) => Promise<void>): Promise<void> {
  const row = (await sql<{ timeout: number }>`pragma busy_timeout`.execute(conn)).rows[0];
  const previous = Number(row?.timeout ?? 0);
  await sql`pragma busy_timeout = 0`.execute(conn);
  try {
    for (let waited = 0; ; ) {
      try {
        await sql`begin immediate`.execute(conn);
        return;
      } catch (e) {
        if (!isSqliteBusy(e)) throw e;
        if (waited >= waitMs) throw lockTimeout(waitMs, e);
        const pause = Math.max(1, Math.min(pollMs, waitMs - waited));
        waited += pause;
        await sleep(pause);
      }
    }
  } finally {
    await sql.raw(`pragma busy_timeout = ${Number.isFinite(previous) ? Math.max(0, Math.floor(previous)) : 5000}`).execute(conn);
  }
}

/** SQLite's answers that mean "another connection holds the lock": worth waiting for, unlike any other error. */
export function isSqliteBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_BUSY_SNAPSHOT';
}

function pgCode(e: unknown): unknown {
  return (e as { code?: unknown } | null)?.code;
}

function lockTimeout(waitMs: number, cause: unknown): GatewayError {
  return new GatewayError('STORE_UNAVAILABLE', `Another process held the token refresh lock for more than ${waitMs} ms.`, {
    details: { reason: 'lock_timeout', retryable: true },
    cause,
  });
}

function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

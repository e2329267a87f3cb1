import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import type { Store } from './create-store.js';

export interface RefreshLockOptions {
  /** Give up waiting for the lock after this long (default 15 s): STORE_UNAVAILABLE, `reason: lock_timeout`. */
  waitMs?: number;
  /**
   * How long the lease lasts (default 30 s). A holder that dies keeps others out until then, and a holder
   * that runs longer loses its exclusivity (its writes must still be compare-and-set). Set it above the
   * longest `work` can take, e.g. the token call's timeout plus a margin.
   */
  leaseMs?: number;
  /** First pause between tries while another holder has the lease (default 5 ms); it doubles up to 100 ms. */
  pollMs?: number;
  /** Injected for tests; the default is a real timer (the lease is held by another process). */
  sleep?: (ms: number) => Promise<void>;
  /** Lease deadlines are on this clock (default the system clock); every instance must agree within seconds. */
  clock?: Clock;
  /**
   * Monotonic milliseconds (default `performance.now`), to count how long a waiter woken by a release in this
   * process slept against `waitMs`; injected for tests, so they can say how long that was without waiting.
   */
  monotonicNow?: () => number;
}

const MAX_POLL_MS = 100;

/** In-process waiters per store and lock key, woken when a holder in this process lets go. */
const localWaiters = new WeakMap<Store, Map<string, Set<() => void>>>();

/**
 * Runs `work` while holding a cross-process lease on `lockKey`, and holds no database connection or
 * transaction meanwhile: `work` may wait on the network (a token endpoint) for as long as its own timeout
 * allows while the rest of the gateway uses the database at full speed.
 *
 * The lease is a row (`refresh_leases`) with a random owner and a deadline. Taking it is one upsert that
 * succeeds only if there is no row or the row's deadline has passed; letting go is one delete by owner.
 * A holder that dies (kill -9, lost host) stops blocking others at its deadline; nothing it wrote is half
 * done, because `work` commits what it got in one short transaction of its own (`writeTransaction`) and
 * guards it with compare-and-set, which also covers a holder that outlived its lease.
 *
 * Why a lease row and not the alternatives: a lock held by a transaction (`pg_advisory_xact_lock`,
 * SQLite's `BEGIN IMMEDIATE`) keeps a pooled connection, or SQLite's only one, for the whole network call;
 * a session advisory lock on a connection of its own frees the pool but needs a second lock design for
 * SQLite and a connection per instance that must be watched. The lease is one design on both stores.
 */
export async function withRefreshLock<T>(store: Store, lockKey: string, work: () => Promise<T>, options: RefreshLockOptions = {}): Promise<T> {
  const waitMs = options.waitMs ?? 15_000;
  const leaseMs = options.leaseMs ?? 30_000;
  if (!Number.isFinite(leaseMs) || leaseMs < 1) throw new RangeError(`withRefreshLock: leaseMs must be >= 1, got ${leaseMs}`);
  const now = () => (options.clock ?? Date).now();
  const sleep = options.sleep ?? realSleep;
  const monotonicNow = options.monotonicNow ?? (() => performance.now());
  const key = leaseKey(lockKey);
  const owner = randomBytes(12).toString('base64url');

  let pause = Math.max(1, options.pollMs ?? 5);
  for (let waited = 0; ; ) {
    if (await tryAcquire(store, key, owner, now(), leaseMs)) break;
    if (waited >= waitMs) throw lockTimeout(waitMs);
    const p = Math.max(1, Math.min(pause, waitMs - waited));
    const started = monotonicNow();
    const woken = await waitForRelease(store, key, sleep(p));
    waited += woken ? Math.max(1, Math.round(monotonicNow() - started)) : p;
    pause = Math.min(pause * 2, MAX_POLL_MS);
  }
  try {
    return await work();
  } finally {
    // If this fails (database gone), the lease simply runs out at its deadline.
    await store.db
      .deleteFrom('refresh_leases')
      .where('lock_key', '=', key)
      .where('owner', '=', owner)
      .execute()
      .catch(() => undefined);
    wake(store, key);
  }
}

/** The lease row's key: a hash, so the table holds no account ids and every key has one length. */
export function leaseKey(lockKey: string): string {
  return createHash('sha256').update(`onbehalf:refresh-lock:${lockKey}`).digest('hex');
}

async function tryAcquire(store: Store, key: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
  const row = await store.db
    .insertInto('refresh_leases')
    .values({ lock_key: key, owner, expires_at: now + leaseMs })
    .onConflict((oc) => oc.column('lock_key').doUpdateSet({ owner, expires_at: now + leaseMs }).where('refresh_leases.expires_at', '<=', now))
    .returning('owner')
    .executeTakeFirst();
  return row?.owner === owner;
}

/** Resolves true if a holder in this process let go of `key` first, false when `timer` fires. */
function waitForRelease(store: Store, key: string, timer: Promise<void>): Promise<boolean> {
  let byKey = localWaiters.get(store);
  if (!byKey) localWaiters.set(store, (byKey = new Map()));
  const waiters = byKey.get(key) ?? new Set<() => void>();
  byKey.set(key, waiters);
  let wakeUp!: () => void;
  const woken = new Promise<boolean>((resolve) => (wakeUp = () => resolve(true)));
  waiters.add(wakeUp);
  return Promise.race([woken, timer.then(() => false)]).finally(() => {
    waiters.delete(wakeUp);
    if (waiters.size === 0 && byKey.get(key) === waiters) byKey.delete(key);
  });
}

/**
 * The calls of this process now waiting for a lease on `store`, and the keys they wait on: both 0 once no
 * call waits (for tests and diagnostics; a waiter that is done must not stay listed, or the list grows).
 */
export function refreshLockWaiting(store: Store): { keys: number; waiters: number } {
  const byKey = localWaiters.get(store);
  let waiters = 0;
  for (const set of byKey?.values() ?? []) waiters += set.size;
  return { keys: byKey?.size ?? 0, waiters };
}

function wake(store: Store, key: string): void {
  for (const w of [...(localWaiters.get(store)?.get(key) ?? [])]) w();
}

function lockTimeout(waitMs: number): GatewayError {
  return new GatewayError('STORE_UNAVAILABLE', `Another process held the token refresh lock for more than ${waitMs} ms.`, {
    details: { reason: 'lock_timeout', retryable: true },
  });
}

function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

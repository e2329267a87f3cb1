import type { Clock } from '../clock.js';
import type { Store } from '../store/create-store.js';
import { ensureForgeBudgetSlots, takeForgeBudgetSlot } from '../store/forge-budget.js';
import { forgeBudgetRefusal, type ForgeRateLimiter } from './forge-rate-limiter.js';

export interface SharedForgeRateLimiterOptions {
  store: Store;
  /** The app's whole budget per sliding minute, shared by every instance on the database. */
  perMinute: number;
  /** How long a caller may queue for a unit of budget before it is refused with RATE_LIMITED. */
  maxWaitMs: number;
  clock: Clock;
  /** Real timers by default: the budget frees up as other instances' grants age. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The per-app offline-token budget (1,000 a minute, §10.10) shared by every gateway instance on one
 * PostgreSQL database (see store/forge-budget.ts for the slot design). A caller over the budget waits,
 * holding no connection, until the oldest grant leaves the minute if that comes within `maxWaitMs`, and is
 * refused at once otherwise; a unit another instance took first sends it back to waiting. The time waited
 * is counted from the sleeps themselves, so a stopped clock (tests, a stalled host) cannot queue a caller
 * past its bound.
 */
export function createSharedForgeRateLimiter(options: SharedForgeRateLimiterOptions): ForgeRateLimiter {
  if (!Number.isInteger(options.perMinute) || options.perMinute < 1) throw new RangeError(`perMinute must be a positive integer, got ${options.perMinute}`);
  if (options.store.dialect !== 'postgres') throw new RangeError('The shared Forge budget needs PostgreSQL; a single SQLite instance uses createForgeRateLimiter.');
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const ready = new Map<string, Promise<void>>();
  const slotsFor = (appId: string): Promise<void> => {
    let p = ready.get(appId);
    if (!p) {
      p = ensureForgeBudgetSlots(options.store, appId, options.perMinute);
      ready.set(appId, p);
      p.catch(() => ready.delete(appId));
    }
    return p;
  };
  return {
    async acquire(appId) {
      await slotsFor(appId);
      for (let waited = 0; ; ) {
        const now = options.clock.now();
        const take = await takeForgeBudgetSlot(options.store, appId, options.perMinute, now);
        if (take.ok) return;
        const wait = Math.max(1, take.freeAt - now + 1);
        if (waited + wait > options.maxWaitMs) throw forgeBudgetRefusal(options.perMinute, wait, true);
        await sleep(wait);
        waited += wait;
      }
    },
  };
}

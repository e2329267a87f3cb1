import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';

/**
 * Atlassian allows 1,000 offline-token exchanges per minute per app (§10.10). This keeps the gateway under
 * that before Atlassian says no: a sliding minute of grants per app; a caller over the budget waits for the
 * oldest grant to leave the window if that comes within `maxWaitMs`, and is refused with RATE_LIMITED (and
 * when to retry) otherwise. Cached tokens never pass through here, only exchanges.
 *
 * One process's view, for a single instance (SQLite). Instances sharing a PostgreSQL database share one
 * budget instead (shared-forge-rate-limiter.ts).
 */
export interface ForgeRateLimiter {
  acquire(appId: string): Promise<void>;
}

export function createForgeRateLimiter(options: { perMinute: number; maxWaitMs: number; clock: Clock; sleep?: (ms: number) => Promise<void> }): ForgeRateLimiter {
  if (!Number.isInteger(options.perMinute) || options.perMinute < 1) throw new RangeError(`perMinute must be a positive integer, got ${options.perMinute}`);
  const windows = new Map<string, number[]>();
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    async acquire(appId) {
      for (;;) {
        const now = options.clock.now();
        const recent = (windows.get(appId) ?? []).filter((t) => t > now - 60_000);
        if (recent.length < options.perMinute) {
          recent.push(now);
          windows.set(appId, recent);
          return;
        }
        windows.set(appId, recent);
        const wait = recent[0]! + 60_000 - now + 1;
        if (wait > options.maxWaitMs) {
          throw forgeBudgetRefusal(options.perMinute, wait, false);
        }
        await sleep(wait);
      }
    },
  };
}

/** The one refusal of both limiters: said before Atlassian would refuse, with when to try again. */
export function forgeBudgetRefusal(perMinute: number, retryAfterMs: number, shared: boolean): GatewayError {
  const whose = shared ? 'its' : "this instance's";
  return new GatewayError('RATE_LIMITED', `The Forge app has used ${whose} ${perMinute} offline-token exchanges of this minute (Atlassian allows 1,000 a minute per app); retry in ${Math.ceil(retryAfterMs / 1000)} s.`, {
    details: { reason: 'forge_offline_token_budget', retryAfterMs, retryable: true, shared },
  });
}

/** Time source, injected everywhere so expiry, rotation and retention are testable without waiting. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests and the sandbox's `advance the clock` control. */
export interface ManualClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

export function createManualClock(startMs: number = Date.UTC(2026, 0, 1)): ManualClock {
  let t = startMs;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance() needs a non-negative number of ms, got ${ms}`);
      t += ms;
    },
  };
}

export function unixSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

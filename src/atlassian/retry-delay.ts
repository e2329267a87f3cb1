export interface RetryDelayInput {
  /** 1 for the first retry, 2 for the second, … */
  attempt: number;
  /** What the server asked for (`parseRetryAfter`), if anything. */
  retryAfterMs?: number | undefined;
  /** Backoff base: the first retry waits up to this long. */
  baseMs: number;
  /** Never wait longer than this, whatever the server says. */
  maxMs: number;
  /** Uniform in [0, 1); injected so tests are exact (`Math.random` in production). */
  random: () => number;
}

/**
 * How long to wait before the next attempt.
 * - The server's Retry-After is honoured (no earlier retry: Atlassian answers an early retry with the same
 *   or a longer Retry-After), but clamped to `maxMs` (Atlassian has sent 9223372036854775807).
 * - Otherwise exponential backoff with full jitter: uniform in [0, min(maxMs, baseMs · 2^(attempt−1))).
 */
export function retryDelay(input: RetryDelayInput): number {
  const { attempt, retryAfterMs, baseMs, maxMs } = input;
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`retryDelay: attempt must be an integer >= 1, got ${attempt}`);
  if (!Number.isFinite(baseMs) || baseMs < 0) throw new RangeError(`retryDelay: baseMs must be >= 0, got ${baseMs}`);
  if (!Number.isFinite(maxMs) || maxMs < baseMs) throw new RangeError(`retryDelay: maxMs must be >= baseMs, got ${maxMs}`);
  if (retryAfterMs !== undefined && !Number.isNaN(retryAfterMs)) return Math.min(Math.max(0, retryAfterMs), maxMs);
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 52));
  const r = input.random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.min(Math.floor(unit * ceiling), maxMs);
}

/** Methods whose repetition has no extra effect (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

export interface ShouldRetryInput {
  method: string;
  /** The HTTP status, or what went wrong when there was none. */
  status: number | 'network_error' | 'timeout';
  /** Attempts made so far, including the one that just failed (1 after the first try). */
  attempt: number;
  maxAttempts: number;
  /** Allow retrying POST/PATCH after a network error or 502/503/504 (the request may have been applied). */
  retryNonIdempotent: boolean;
  /** The server's requested wait (`parseRetryAfter`), if any. */
  retryAfterMs?: number | undefined;
  /** Give up instead of retrying when the server asks for a longer wait than this. */
  maxRetryAfterMs?: number | undefined;
}

export type RetryReason =
  | 'not_an_error'
  | 'not_retryable_status'
  | 'rate_limited'
  | 'server_unavailable'
  | 'network_error'
  | 'timeout'
  | 'not_idempotent'
  | 'attempts_exhausted'
  | 'retry_after_too_long';

export interface RetryDecision {
  retry: boolean;
  reason: RetryReason;
}

/**
 * Whether to try again, with the reason (a pure decision, tested as a table).
 * - 429: retryable for every method, because a rate-limited request was refused, not processed.
 * - 502/503/504, network errors and timeouts: retryable for idempotent methods only, unless
 *   `retryNonIdempotent` (a POST that timed out may already have created the page).
 * - Everything else, including other 4xx/5xx: not retried.
 */
export function shouldRetry(input: ShouldRetryInput): RetryDecision {
  if (!Number.isInteger(input.maxAttempts) || input.maxAttempts < 1) {
    throw new RangeError(`shouldRetry: maxAttempts must be an integer >= 1, got ${input.maxAttempts}`);
  }
  if (!Number.isInteger(input.attempt) || input.attempt < 1) {
    throw new RangeError(`shouldRetry: attempt must be an integer >= 1, got ${input.attempt}`);
  }
  const { status } = input;
  let reason: RetryReason;
  let needsIdempotent: boolean;
  if (status === 'network_error' || status === 'timeout') {
    reason = status;
    needsIdempotent = true;
  } else if (status < 400) {
    return { retry: false, reason: 'not_an_error' };
  } else if (status === 429) {
    reason = 'rate_limited';
    needsIdempotent = false;
  } else if (status === 502 || status === 503 || status === 504) {
    reason = 'server_unavailable';
    needsIdempotent = true;
  } else {
    return { retry: false, reason: 'not_retryable_status' };
  }
  if (needsIdempotent && !input.retryNonIdempotent && !IDEMPOTENT_METHODS.has(input.method.toUpperCase())) {
    return { retry: false, reason: 'not_idempotent' };
  }
  if (input.attempt >= input.maxAttempts) return { retry: false, reason: 'attempts_exhausted' };
  if (input.retryAfterMs !== undefined && input.maxRetryAfterMs !== undefined && input.retryAfterMs > input.maxRetryAfterMs) {
    return { retry: false, reason: 'retry_after_too_long' };
  }
  return { retry: true, reason };
}

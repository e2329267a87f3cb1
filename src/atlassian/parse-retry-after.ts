import type { Clock } from '../clock.js';

/** Anything with `get(name)`, e.g. a fetch `Headers`; or a plain (lower- or any-case) record. */
export type HeadersLike = { get(name: string): string | null } | Readonly<Record<string, string | undefined>>;

function header(headers: HeadersLike, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const v = (headers as { get(name: string): string | null }).get(name);
    return v ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | undefined>>;
  const lower = name.toLowerCase();
  for (const key of Object.keys(record)) if (key.toLowerCase() === lower) return record[key];
  return undefined;
}

const MAX_MS = Number.MAX_SAFE_INTEGER;

function fromDate(text: string, clock: Clock): number | undefined {
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - clock.now());
}

/**
 * How long the server asked us to wait, in ms (never negative), or undefined when it did not say.
 * `Retry-After` wins: delta-seconds (`120`) or an HTTP date. Else Atlassian's `X-RateLimit-Reset`, an ISO
 * 8601 instant (`2026-03-02T10:15Z`). Absurd values (Atlassian has sent 9223372036854775807) come back
 * large but finite; `retryDelay` clamps them.
 */
export function parseRetryAfter(headers: HeadersLike, clock: Clock): number | undefined {
  const retryAfter = header(headers, 'retry-after')?.trim();
  if (retryAfter !== undefined && retryAfter !== '') {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.min(MAX_MS, Math.ceil(Number(retryAfter) * 1000));
    const ms = fromDate(retryAfter, clock);
    if (ms !== undefined) return ms;
  }
  const reset = header(headers, 'x-ratelimit-reset')?.trim();
  if (reset !== undefined && /^\d{4}-\d{2}-\d{2}T/.test(reset)) return fromDate(reset, clock);
  return undefined;
}

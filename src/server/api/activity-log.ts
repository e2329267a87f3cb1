import type { ActingRoute } from '../../identity/acting.js';
/** One act-as call as the activity view shows it. Never a token: the credential is not even in reach here. */
export interface ActivityEntry {
  /** Milliseconds since the epoch (the gateway's clock) when the request arrived. */
  at: number;
  requestId: string;
  /** Who called: the API key's name (`admin console` for the console's own test calls). */
  caller: string;
  externalUserId: string;
  site: string;
  /** Known once the acting decision ran; null when the gateway refused before it (not linked, policy). */
  accountId: string | null;
  route: ActingRoute | null;
  method: string;
  /** The API path and query as sent, relative to the site's API base; redact it before showing it. */
  path: string;
  /** Confluence's status, or null when the gateway answered itself (then `error` says why). */
  upstreamStatus: number | null;
  /** The gateway's status code for its own refusals (404 USER_NOT_LINKED, ...). */
  status: number;
  error: string | null;
  /** Until the upstream's response headers (or the refusal), in ms. */
  latencyMs: number;
}

export interface ActivityFilter {
  externalUserId?: string;
  site?: string;
  caller?: string;
  /** `2xx`, `4xx`, `5xx`, or `refused` (the gateway answered itself). */
  outcome?: '2xx' | '3xx' | '4xx' | '5xx' | 'refused';
  limit?: number;
}

export interface ActivityLog {
  /** Keeps the entry, dropping the oldest once full. Synchronous and allocation-free beyond the entry. */
  record(entry: ActivityEntry): void;
  /** Newest first. */
  list(filter?: ActivityFilter): ActivityEntry[];
  readonly capacity: number;
  /** Entries recorded since start, including those dropped. */
  readonly total: number;
}

export const DEFAULT_ACTIVITY_CAPACITY = 500;

/**
 * The last act-as calls of THIS gateway process, in a fixed ring in memory: the activity view is an
 * inspector for the last few minutes, not an archive (the audit log and metrics are the durable record).
 * Recording is one array store on the proxy's hot path: no database write, no await, no lock. With several
 * instances behind a balancer each shows only the calls it served; a restart empties it.
 */
export function createActivityLog(options: { capacity?: number } = {}): ActivityLog {
  const capacity = options.capacity ?? DEFAULT_ACTIVITY_CAPACITY;
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 100_000) throw new RangeError(`activity log capacity must be an integer in 1..100000, got ${capacity}`);
  const ring: (ActivityEntry | undefined)[] = new Array<ActivityEntry | undefined>(capacity);
  let total = 0;
  const matches = (e: ActivityEntry, f: ActivityFilter): boolean => {
    if (f.externalUserId !== undefined && e.externalUserId !== f.externalUserId) return false;
    if (f.site !== undefined && e.site !== f.site) return false;
    if (f.caller !== undefined && e.caller !== f.caller) return false;
    if (f.outcome !== undefined) {
      if (f.outcome === 'refused') return e.upstreamStatus === null;
      if (e.upstreamStatus === null || `${Math.floor(e.upstreamStatus / 100)}xx` !== f.outcome) return false;
    }
    return true;
  };
  return {
    capacity,
    get total() {
      return total;
    },
    record(entry) {
      ring[total % capacity] = entry;
      total++;
    },
    list(filter = {}) {
      const limit = filter.limit ?? capacity;
      const out: ActivityEntry[] = [];
      for (let i = total - 1; i >= 0 && i >= total - capacity && out.length < limit; i--) {
        const e = ring[i % capacity];
        if (e && matches(e, filter)) out.push(e);
      }
      return out;
    },
  };
}

/** Counters of grants, refreshes and API calls per app, user and route, plus a bounded call log. */

export type CounterKind = 'impersonation_grant' | 'authorization_code_grant' | 'refresh_grant' | 'api_call' | 'webhook' | 'lifecycle' | 'fault' | 'client_credentials_grant' | 'forge_invocation' | 'forge_event' | 'offline_token_grant' | 'offline_token_refused';

export interface CounterDims {
  /** Connect app key, 3LO client id or Forge app ARI. */
  app?: string | null;
  user?: string | null;
  route?: string | null;
  site?: string | null;
}

export interface CounterEntry extends Required<{ [K in keyof CounterDims]: string | null }> {
  kind: CounterKind;
  count: number;
}

export interface CallLogEntry {
  at: number;
  kind: CounterKind;
  method: string;
  path: string;
  status: number;
  app: string | null;
  user: string | null;
  site: string | null;
  route: string | null;
}

export interface Counters {
  record(kind: CounterKind, dims: CounterDims): void;
  log(entry: CallLogEntry): void;
  entries(filter?: Partial<Record<keyof CounterDims | 'kind', string>>): CounterEntry[];
  total(kind: CounterKind, filter?: Partial<Record<keyof CounterDims, string>>): number;
  calls(): CallLogEntry[];
  reset(): void;
}

export function createCounters(options: { maxCallLog?: number } = {}): Counters {
  const max = options.maxCallLog ?? 2000;
  const counts = new Map<string, CounterEntry>();
  let callLog: CallLogEntry[] = [];
  const matches = (e: CounterEntry, filter: Partial<Record<string, string>>): boolean =>
    Object.entries(filter).every(([k, v]) => v === undefined || (e as unknown as Record<string, unknown>)[k] === v);
  return {
    record(kind, dims) {
      const entry = { kind, app: dims.app ?? null, user: dims.user ?? null, route: dims.route ?? null, site: dims.site ?? null };
      const key = JSON.stringify(entry);
      const existing = counts.get(key);
      if (existing) existing.count += 1;
      else counts.set(key, { ...entry, count: 1 });
    },
    log(entry) {
      callLog.push(entry);
      if (callLog.length > max) callLog = callLog.slice(callLog.length - max);
    },
    entries: (filter = {}) => [...counts.values()].filter((e) => matches(e, filter)).map((e) => ({ ...e })),
    total: (kind, filter = {}) => [...counts.values()].filter((e) => e.kind === kind && matches(e, filter)).reduce((n, e) => n + e.count, 0),
    calls: () => [...callLog],
    reset() {
      counts.clear();
      callLog = [];
    },
  };
}

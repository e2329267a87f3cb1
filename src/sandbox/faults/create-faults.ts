import { createHash } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { rateLimitResetHeader } from './rate-limit-headers.js';

export interface FaultMatch {
  /** Raw path prefix, e.g. `/s/acme/wiki/api/v2/pages` or `/oauth2/token`. */
  pathPrefix?: string | undefined;
  method?: string | undefined;
  site?: string | undefined;
  /** The exact credential (token after `Bearer `/`JWT `, or the Basic value). */
  token?: string | undefined;
}

export type FaultRule =
  | { id: string; kind: 'rate_limit'; match: FaultMatch; limit: number; windowMs: number; per: 'route' | 'token' | 'site'; retryAfterSeconds?: number | undefined; reason: string; times: number | null }
  | { id: string; kind: 'error'; match: FaultMatch; status: number; retryAfterSeconds?: number | undefined; reason?: string | undefined; times: number | null }
  | { id: string; kind: 'latency'; match: FaultMatch; latencyMs: number; times: number | null }
  | { id: string; kind: 'drop'; match: FaultMatch; times: number | null };

export type FaultRuleInput = FaultRule extends infer R ? (R extends FaultRule ? Omit<R, 'id' | 'times'> & { id?: string; times?: number | null } : never) : never;

export interface FaultRequestInfo {
  method: string;
  path: string;
  site: string | null;
  token: string | null;
}

export type FaultDecision =
  | { action: 'pass'; delayMs: number; delayedBy?: string[]; headers: Record<string, string> }
  | { action: 'respond'; delayMs: number; delayedBy?: string[]; status: number; headers: Record<string, string>; body: unknown }
  | { action: 'drop'; delayMs: number; delayedBy?: string[] };

export interface Faults {
  add(rule: FaultRuleInput): FaultRule;
  remove(id: string): boolean;
  clear(): void;
  list(): FaultRule[];
  decide(req: FaultRequestInfo): FaultDecision;
  /**
   * Waits out a decision's latency. Removing (or clearing) a latency rule ends the waits it caused at
   * once, so a test can hold requests for as long as it likes and release them without a wall-clock race.
   */
  delay(decision: FaultDecision): Promise<void>;
  /** Requests being delayed right now by the latency rule `id` (all rules when absent). */
  held(id?: string): number;
}

function matches(m: FaultMatch, req: FaultRequestInfo): boolean {
  if (m.pathPrefix !== undefined && !req.path.startsWith(m.pathPrefix)) return false;
  if (m.method !== undefined && m.method.toUpperCase() !== req.method.toUpperCase()) return false;
  if (m.site !== undefined && m.site !== req.site) return false;
  if (m.token !== undefined && m.token !== req.token) return false;
  return true;
}

/** Run-time switchable faults: rate limits (fixed windows on the injected clock), 5xx, latency, drops. */
export function createFaults(clock: Clock): Faults {
  let rules: FaultRule[] = [];
  let seq = 0;
  const windows = new Map<string, { start: number; count: number }>();
  // Waits in progress, by the latency rule that caused them: removing the rule releases them.
  const waits = new Map<string, Set<() => void>>();
  const release = (id: string) => {
    for (const done of [...(waits.get(id) ?? [])]) done();
  };

  const consume = (rule: FaultRule): void => {
    if (rule.times !== null) {
      rule.times -= 1;
      if (rule.times <= 0) rules = rules.filter((r) => r !== rule);
    }
  };

  return {
    add(input) {
      seq += 1;
      const rule = { ...input, id: input.id ?? `fault-${seq}`, times: input.times ?? null } as FaultRule;
      rules = rules.filter((r) => r.id !== rule.id);
      rules.push(rule);
      return rule;
    },
    remove(id) {
      const before = rules.length;
      rules = rules.filter((r) => r.id !== id);
      for (const key of [...windows.keys()]) if (key.startsWith(`${id}|`)) windows.delete(key);
      const holding = waits.has(id);
      release(id);
      return rules.length !== before || holding;
    },
    clear() {
      rules = [];
      windows.clear();
      for (const id of [...waits.keys()]) release(id);
    },
    delay(decision) {
      if (decision.delayMs <= 0) return Promise.resolve();
      const ids = decision.delayedBy ?? [];
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          for (const id of ids) {
            waits.get(id)?.delete(done);
            if (waits.get(id)?.size === 0) waits.delete(id);
          }
          resolve();
        };
        const timer = setTimeout(done, decision.delayMs);
        for (const id of ids) waits.set(id, (waits.get(id) ?? new Set()).add(done));
      });
    },
    held(id) {
      if (id !== undefined) return waits.get(id)?.size ?? 0;
      return new Set([...waits.values()].flatMap((s) => [...s])).size;
    },
    list: () => rules.map((r) => ({ ...r })),
    decide(req) {
      let delayMs = 0;
      const delayedBy: string[] = [];
      const headers: Record<string, string> = {};
      const now = clock.now();
      for (const rule of [...rules]) {
        if (!matches(rule.match, req)) continue;
        if (rule.kind === 'latency') {
          delayMs += rule.latencyMs;
          delayedBy.push(rule.id);
          consume(rule);
          continue;
        }
        if (rule.kind === 'drop') {
          consume(rule);
          return { action: 'drop', delayMs, delayedBy };
        }
        if (rule.kind === 'error') {
          consume(rule);
          const h: Record<string, string> = {};
          if (rule.status === 429 || rule.retryAfterSeconds !== undefined) {
            const retry = rule.retryAfterSeconds ?? 10;
            h['Retry-After'] = String(retry);
            if (rule.status === 429) {
              h['X-RateLimit-Reset'] = rateLimitResetHeader(now, retry);
              h['X-RateLimit-Limit'] = '0';
              h['X-RateLimit-Remaining'] = '0';
              h['RateLimit-Reason'] = rule.reason ?? 'confluence-quota-tenant-based';
            }
          }
          const body = rule.status === 429 ? { code: 429, message: 'Rate limit exceeded.' } : { code: rule.status, message: 'Injected fault' };
          return { action: 'respond', delayMs, delayedBy, status: rule.status, headers: h, body };
        }
        // rate_limit: fixed window per bucket
        const bucketKey =
          rule.per === 'site' ? (req.site ?? '-') : rule.per === 'token' ? createHash('sha256').update(req.token ?? '-').digest('hex') : `${req.method} ${req.path}`;
        const key = `${rule.id}|${bucketKey}`;
        let w = windows.get(key);
        if (!w || now >= w.start + rule.windowMs) {
          w = { start: now, count: 0 };
          windows.set(key, w);
        }
        w.count += 1;
        const remaining = Math.max(0, rule.limit - w.count);
        if (w.count > rule.limit) {
          const retry = rule.retryAfterSeconds ?? Math.max(1, Math.ceil((w.start + rule.windowMs - now) / 1000));
          return {
            action: 'respond',
            delayMs,
            delayedBy,
            status: 429,
            headers: {
              'Retry-After': String(retry),
              'X-RateLimit-Limit': String(rule.limit),
              'X-RateLimit-Remaining': '0',
              'X-RateLimit-Reset': rateLimitResetHeader(now, retry),
              'RateLimit-Reason': rule.reason,
            },
            body: { code: 429, message: 'Rate limit exceeded.' },
          };
        }
        headers['X-RateLimit-Limit'] = String(rule.limit);
        headers['X-RateLimit-Remaining'] = String(remaining);
        if (remaining < rule.limit * 0.2) headers['X-RateLimit-NearLimit'] = 'true';
      }
      return { action: 'pass', delayMs, delayedBy, headers };
    },
  };
}

import { randomUUID } from 'node:crypto';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { ForgeInstallation, ScheduledInterval } from './forge-types.js';
import { invokeRemote, remoteUrl, type InvocationFailure } from './invoke-remote.js';

/**
 * Events and triggers delivered to remotes (§10.2): POST `{payload}` to the endpoint's route, 5 s timeout, and
 * on a failure up to 4 retries 60 s apart on the sandbox clock, each carrying `payload.retryContext`. Scheduled
 * triggers fire on the sandbox clock too, so a test moves time instead of waiting. Uninstalled installations
 * get nothing more: their queued retries are dropped and their schedules stop.
 */

export const INTERVAL_MS: Record<ScheduledInterval, number> = { fiveMinute: 300_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };

export interface DeliveryAttempt {
  at: number;
  status: number | null;
  failure: InvocationFailure | null;
  message: string | null;
}

export interface DeliveryRecord {
  id: string;
  installationId: string;
  appId: string;
  site: string;
  /** The event name (`avi:forge:installed:app`) or `scheduled:<trigger key>`. */
  label: string;
  endpoint: string;
  attempts: DeliveryAttempt[];
  outcome: 'pending' | 'delivered' | 'retrying' | 'failed' | 'dropped';
}

interface Queued {
  record: DeliveryRecord;
  payload: Record<string, unknown>;
  moduleKey: string;
  dueAt: number;
}

export interface ForgeDeliveries {
  /** Queues a delivery to every endpoint given; resolves when each first attempt has finished. */
  deliver(installation: ForgeInstallation, label: string, targets: { endpoint: string; moduleKey: string }[], payload: Record<string, unknown>): Promise<DeliveryRecord[]>;
  /** Fires due retries and scheduled triggers (called by a timer and after the clock moves). */
  tick(): void;
  /** Resolves when nothing is in flight. */
  flush(): Promise<void>;
  records(): DeliveryRecord[];
  /** Drops queued retries of an installation (uninstall). */
  dropFor(installationId: string): void;
  reset(): void;
  /** Stops the timer for good (the server closed): nothing is delivered afterwards. */
  stop(): void;
}

export function createForgeDeliveries(deps: SandboxDeps, installations: () => Iterable<ForgeInstallation>): ForgeDeliveries {
  let queue: Queued[] = [];
  let log: DeliveryRecord[] = [];
  const inFlight = new Set<Promise<void>>();
  let timer: ReturnType<typeof setInterval> | null = null;
  let stopped = false;

  const attempt = async (q: Queued): Promise<void> => {
    const inst = deps.state.forgeInstallations.get(q.record.installationId);
    if (!inst || !inst.installed) {
      q.record.outcome = 'dropped';
      return;
    }
    const version = inst.current;
    const endpoint = version.manifest.endpoints.find((e) => e.key === q.record.endpoint);
    const url = endpoint ? remoteUrl(version, endpoint, null) : null;
    const retryCount = q.record.attempts.length;
    const last = q.record.attempts[retryCount - 1];
    const payload = retryCount === 0 ? q.payload : { ...q.payload, retryContext: { retryData: null, retryCount, retryReason: last?.failure ?? 'INVALID_REMOTE_INVOCATION_ERROR' } };
    const outcome =
      endpoint && url
        ? await invokeRemote(deps, {
            installation: inst,
            version,
            endpoint,
            method: 'POST',
            url,
            body: JSON.stringify({ payload }),
            headers: {},
            module: { type: 'core:endpoint', key: endpoint.key },
            ui: null,
            timeoutMs: deps.settings.forgeEventTimeoutMs,
          })
        : ({ ok: false, reason: 'INVALID_REMOTE_INVOCATION_ERROR', status: null, message: `endpoint "${q.record.endpoint}" is no longer in the running version` } as const);
    q.record.attempts.push({ at: deps.clock.now(), status: outcome.ok ? outcome.status : outcome.status, failure: outcome.ok ? null : outcome.reason, message: outcome.ok ? null : outcome.message });
    deps.counters.record('forge_event', { app: inst.appId, site: inst.siteKey, route: q.record.label, user: null });
    if (outcome.ok) {
      q.record.outcome = 'delivered';
    } else if (q.record.attempts.length <= deps.settings.forgeEventMaxRetries) {
      q.record.outcome = 'retrying';
      q.dueAt = deps.clock.now() + deps.settings.forgeEventRetryDelayMs;
      queue.push(q);
      ensureTimer();
    } else {
      q.record.outcome = 'failed';
    }
  };

  const start = (q: Queued): Promise<void> => {
    const p = attempt(q).finally(() => inFlight.delete(p));
    inFlight.add(p);
    return p;
  };

  const runSchedules = (): void => {
    const now = deps.clock.now();
    for (const inst of installations()) {
      if (!inst.installed) continue;
      for (const t of inst.current.manifest.scheduledTriggers) {
        const every = INTERVAL_MS[t.interval];
        const due = (inst.nextScheduledRun[t.key] ??= inst.installedAt + every);
        if (due > now) continue;
        // One run however far the clock jumped, as a missed schedule does not pile up runs.
        inst.nextScheduledRun[t.key] = due + every * Math.max(1, Math.ceil((now - due + 1) / every));
        void deliverNow(inst, `scheduled:${t.key}`, [{ endpoint: t.endpoint, moduleKey: t.key }], scheduledPayload(deps, inst, t.key));
      }
    }
  };

  const ensureTimer = (): void => {
    if (timer || stopped) return;
    // Real time moves the sandbox clock too: a running sandbox delivers its hourly trigger every hour.
    timer = setInterval(() => api.tick(), 1000);
    timer.unref();
  };

  const deliverNow = async (installation: ForgeInstallation, label: string, targets: { endpoint: string; moduleKey: string }[], payload: Record<string, unknown>): Promise<DeliveryRecord[]> => {
    const records: DeliveryRecord[] = [];
    const first: Promise<void>[] = [];
    for (const t of targets) {
      const record: DeliveryRecord = { id: randomUUID(), installationId: installation.installationId, appId: installation.appId, site: installation.siteKey, label, endpoint: t.endpoint, attempts: [], outcome: 'pending' };
      log.push(record);
      if (log.length > 1000) log = log.slice(log.length - 1000);
      records.push(record);
      first.push(start({ record, payload, moduleKey: t.moduleKey, dueAt: deps.clock.now() }));
    }
    await Promise.all(first);
    return records;
  };

  const api: ForgeDeliveries = {
    deliver(installation, label, targets, payload) {
      ensureTimer();
      return deliverNow(installation, label, targets, payload);
    },
    tick() {
      const now = deps.clock.now();
      const due = queue.filter((q) => q.dueAt <= now);
      queue = queue.filter((q) => q.dueAt > now);
      for (const q of due) void start(q);
      runSchedules();
      const anyInstalled = [...installations()].some((i) => i.installed && i.current.manifest.scheduledTriggers.length > 0);
      if (timer && queue.length === 0 && !anyInstalled) {
        clearInterval(timer);
        timer = null;
      }
    },
    async flush() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    records: () => log.map((r) => ({ ...r, attempts: [...r.attempts] })),
    dropFor(installationId) {
      for (const q of queue) if (q.record.installationId === installationId) q.record.outcome = 'dropped';
      queue = queue.filter((q) => q.record.installationId !== installationId);
    },
    reset() {
      queue = [];
      log = [];
      if (timer) clearInterval(timer);
      timer = null;
    },
    stop() {
      stopped = true;
      api.reset();
    },
  };
  return api;
}

/** A scheduled trigger's body for a remote: not documented; modelled on the function event's `context` [I]. */
export function scheduledPayload(deps: SandboxDeps, inst: ForgeInstallation, key: string): Record<string, unknown> {
  const site = deps.state.siteByKey(inst.siteKey)!;
  return { context: { cloudId: site.cloudId, moduleKey: key }, installationId: inst.installationId };
}

import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';

export interface ForgeActivity {
  tenantId: string;
  lastInvocationAt: number;
  lastModule: string;
  lastTriggerAt: number | null;
}

export interface ForgeActivityRepo {
  /**
   * Records an invocation of a Forge installation. Writes at most once a minute per installation and kind
   * (UI call or trigger) from one process: UI calls can come in bursts, and the console needs minutes, not
   * milliseconds. The first invocation a process sees is always written.
   */
  record(tenantId: string, input: { module: string; trigger: boolean }): Promise<void>;
  list(): Promise<ForgeActivity[]>;
  get(tenantId: string): Promise<ForgeActivity | undefined>;
}

const THROTTLE_MS = 60_000;

export function createForgeActivityRepo(deps: { store: Store; clock: Clock }): ForgeActivityRepo {
  const { db } = deps.store;
  const lastWrite = new Map<string, number>();
  const toActivity = (r: { tenant_id: string; last_invocation_at: number; last_module: string; last_trigger_at: number | null }): ForgeActivity => ({
    tenantId: r.tenant_id,
    lastInvocationAt: Number(r.last_invocation_at),
    lastModule: r.last_module,
    lastTriggerAt: r.last_trigger_at === null ? null : Number(r.last_trigger_at),
  });
  return {
    async record(tenantId, input) {
      const now = deps.clock.now();
      const key = `${tenantId}\u0000${input.trigger ? 't' : 'u'}`;
      const last = lastWrite.get(key);
      if (last !== undefined && now - last < THROTTLE_MS && now >= last) return;
      lastWrite.set(key, now);
      if (lastWrite.size > 10_000) lastWrite.delete(lastWrite.keys().next().value as string);
      const module = input.module.slice(0, 200);
      await db
        .insertInto('forge_activity')
        .values({ tenant_id: tenantId, last_invocation_at: now, last_module: module, last_trigger_at: input.trigger ? now : null })
        .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ last_invocation_at: now, last_module: module, ...(input.trigger ? { last_trigger_at: now } : {}) }))
        .execute();
    },
    async list() {
      return (await db.selectFrom('forge_activity').selectAll().execute()).map(toActivity);
    },
    async get(tenantId) {
      const r = await db.selectFrom('forge_activity').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
      return r ? toActivity(r) : undefined;
    },
  };
}

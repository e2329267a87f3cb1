import type { Handler } from 'hono';
import type { Store } from '../store/create-store.js';
import type { Metrics } from './metrics.js';
import type { HealthHandlers } from './routes.js';

export function healthHandlers(deps: { store: Store; metrics: Metrics; version: string }): HealthHandlers {
  const healthz: Handler = (c) => c.json({ status: 'ok', version: deps.version });
  const readyz: Handler = async (c) => {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    try {
      await deps.store.ping();
      const status = await deps.store.migrationStatus();
      const current = status.pending.length === 0 && status.unknown.length === 0;
      checks['store'] = { ok: true };
      checks['schema'] = current
        ? { ok: true }
        : { ok: false, detail: status.pending.length > 0 ? `pending migrations: ${status.pending.join(', ')}` : `schema is newer than this version: ${status.unknown.join(', ')}` };
    } catch {
      checks['store'] = { ok: false, detail: `cannot reach ${deps.store.dialect}` };
    }
    const ok = Object.values(checks).every((x) => x.ok);
    return c.json({ status: ok ? 'ready' : 'not ready', checks }, ok ? 200 : 503);
  };
  const metrics: Handler = async (c) => {
    const text = await deps.metrics.registry.metrics();
    return c.body(text, 200, { 'Content-Type': deps.metrics.registry.contentType });
  };
  return { healthz, readyz, metrics };
}

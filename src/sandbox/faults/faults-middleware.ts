import type { MiddlewareHandler } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';

/**
 * Thrown (in process) for a `drop` fault: `app.fetch` and `sandbox.fetch` reject with it, like `fetch` does
 * when a connection dies. Over real HTTP the socket is destroyed instead.
 */
export class SandboxDroppedConnection extends TypeError {
  constructor() {
    super('fetch failed', { cause: new Error('sandbox fault: connection dropped') });
    this.name = 'TypeError';
  }
}

const SKIP = /^\/(?:_sandbox|_iframe|login|logout|atlassian-connect)?(?:\/|$)/;

/** Applies the run-time fault rules to every Atlassian-facing route (not to the control API or pages). */
export function faultsMiddleware(deps: SandboxDeps): MiddlewareHandler {
  return async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (SKIP.test(path)) return next();
    const siteMatch = /^\/s\/([^/]+)\//.exec(path);
    const gatewayMatch = /^\/ex\/confluence\/([^/]+)\//.exec(path);
    const site = siteMatch ? siteMatch[1]! : gatewayMatch ? (deps.state.siteByCloudId(gatewayMatch[1]!)?.key ?? null) : null;
    const auth = c.req.header('authorization') ?? '';
    const token = auth.includes(' ') ? auth.slice(auth.indexOf(' ') + 1).trim() : auth || null;
    const decision = deps.faults.decide({ method: c.req.method, path, site, token });
    await deps.faults.delay(decision);
    if (decision.action !== 'pass') {
      const status = decision.action === 'drop' ? 0 : decision.status;
      deps.counters.record('fault', { site, route: `${c.req.method} ${path}` });
      deps.counters.log({ at: deps.clock.now(), kind: 'fault', method: c.req.method, path, status, app: null, user: null, site, route: decision.action });
    }
    if (decision.action === 'drop') {
      const env = c.env as { incoming?: { socket?: { destroy(): void } } } | undefined;
      if (!env?.incoming?.socket) throw new SandboxDroppedConnection();
      env.incoming.socket.destroy();
      return new Response(null, { status: 502 });
    }
    if (decision.action === 'respond') {
      for (const [k, v] of Object.entries(decision.headers)) c.header(k, v);
      return c.json(decision.body as object, decision.status as 429);
    }
    await next();
    for (const [k, v] of Object.entries(decision.headers)) c.res.headers.set(k, v);
  };
}

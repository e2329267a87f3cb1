import type { Handler } from 'hono';

/**
 * The route table: every path of the gateway with the authentication it demands, readable at a glance.
 * `create-app.ts` mounts it and puts the named auth in front of each handler; a test sweeps it so that a
 * route added without auth cannot slip through.
 */
export type RouteAuth =
  /** Open to anyone: health checks, the Connect descriptor. */
  | 'public'
  /** `Authorization: Bearer <api key>`. */
  | 'apiKey'
  /** Lifecycle callbacks: the lifecycle service verifies the signed install (RS256) or the stored secret. */
  | 'connectInstall'
  /** A Connect JWT from the product with a real qsh (iframe loads, webhooks). */
  | 'connectJwt'
  /** A context JWT from `AP.context.getToken()` (qsh "context-qsh"); refused on every other route. */
  | 'connectContext'
  /** A signed-in admin session. */
  | 'admin'
  /** A Forge Invocation Token (RS256 from Forge's key set, `aud` = our app): the gateway as a Forge remote. */
  | 'forgeInvocation';

export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  auth: RouteAuth;
  handler: Handler;
  summary: string;
}

export interface HealthHandlers {
  healthz: Handler;
  readyz: Handler;
  metrics: Handler;
}

export function routeTable(h: HealthHandlers): RouteDef[] {
  return [
    { method: 'GET', path: '/healthz', auth: 'public', handler: h.healthz, summary: 'Liveness: the process answers.' },
    { method: 'GET', path: '/readyz', auth: 'public', handler: h.readyz, summary: 'Readiness: the store answers and its schema is current.' },
    { method: 'GET', path: '/metrics', auth: 'public', handler: h.metrics, summary: 'Prometheus metrics.' },
  ];
}

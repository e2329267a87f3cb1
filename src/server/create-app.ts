import { Hono, type MiddlewareHandler } from 'hono';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/create-store.js';
import { healthHandlers } from './health.js';
import type { Metrics } from './metrics.js';
import { accessLog } from './middleware/access-log.js';
import { errorHandler } from './middleware/error-handler.js';
import { requestId } from './middleware/request-id.js';
import { routeTable, type RouteAuth, type RouteDef } from './routes.js';
import { securityHeaders } from './security-headers.js';

export interface AppDeps {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  version: string;
  /** Further route groups (Connect, API, ...), each route naming its auth. */
  routes?: readonly RouteDef[];
  /** The middleware that enforces each auth kind; a route whose kind has none fails at start-up. */
  auth?: Partial<Record<RouteAuth, MiddlewareHandler | null>>;
}

/** Kinds whose check happens inside the handler's service (documented in routes.ts). */
const VERIFIED_IN_HANDLER: ReadonlySet<RouteAuth> = new Set(['public', 'connectInstall']);

export interface GatewayApp {
  app: Hono;
  routes: readonly RouteDef[];
}

export function createApp(deps: AppDeps): GatewayApp {
  const app = new Hono();
  app.use('*', requestId());
  app.use('*', accessLog(deps.logger, deps.metrics));
  app.use('*', securityHeaders());

  const routes = [...routeTable(healthHandlers(deps)), ...(deps.routes ?? [])];
  for (const r of routes) {
    if (VERIFIED_IN_HANDLER.has(r.auth)) {
      app.on(r.method, r.path, r.handler);
      continue;
    }
    const guard = deps.auth?.[r.auth];
    if (!guard) throw new Error(`route ${r.method} ${r.path} needs auth "${r.auth}", which has no middleware`);
    app.on(r.method, r.path, guard, r.handler);
  }

  const onError = errorHandler(deps.logger);
  app.notFound((c) => onError(new GatewayError('NOT_FOUND', `No such endpoint: ${c.req.method} ${new URL(c.req.url).pathname}`), c));
  app.onError(onError);
  return { app, routes };
}

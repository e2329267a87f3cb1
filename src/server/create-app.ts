import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/create-store.js';
import { healthHandlers } from './health.js';
import type { Metrics } from './metrics.js';
import { accessLog } from './middleware/access-log.js';
import { errorHandler } from './middleware/error-handler.js';
import { requestId } from './middleware/request-id.js';
import { routeTable, type RouteDef } from './routes.js';

export interface AppDeps {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  version: string;
}

export interface GatewayApp {
  app: Hono;
  routes: readonly RouteDef[];
}

export function createApp(deps: AppDeps): GatewayApp {
  const app = new Hono();
  app.use('*', requestId());
  app.use('*', accessLog(deps.logger, deps.metrics));
  app.use(
    '*',
    secureHeaders({
      // Pages are server-rendered without inline scripts from third parties; frames are allowed only where
      // a Connect page must render inside Confluence, and those routes set their own frame-ancestors.
      contentSecurityPolicy: { defaultSrc: ["'self'"], frameAncestors: ["'none'"], objectSrc: ["'none'"], baseUri: ["'self'"] },
      strictTransportSecurity: 'max-age=31536000; includeSubDomains',
      referrerPolicy: 'no-referrer',
    }),
  );

  const routes = routeTable(healthHandlers(deps));
  for (const r of routes) {
    if (r.auth !== 'public') throw new Error(`route ${r.method} ${r.path} needs auth "${r.auth}", which is not wired yet`);
    app.on(r.method, r.path, r.handler);
  }

  const onError = errorHandler(deps.logger);
  app.notFound((c) => onError(new GatewayError('NOT_FOUND', `No such endpoint: ${c.req.method} ${new URL(c.req.url).pathname}`), c));
  app.onError(onError);
  return { app, routes };
}

import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../metrics.js';

/**
 * One log line and one metrics sample per request. Metrics are labelled by the route *pattern*, never the
 * raw path, so account ids and site names cannot blow up label cardinality.
 */
export function accessLog(logger: Logger, metrics: Metrics): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const matched = routePath(c, -1);
    // Only the catch-all middleware matched: no route answered this path.
    const route = !matched || matched === '/*' || matched === '*' ? 'unmatched' : matched;
    recordRequest(logger, metrics, { method: c.req.method, route, status: c.res.status, started, url: () => c.req.url, requestId: c.get('requestId') as string | undefined });
  };
}

export interface ServedRequest {
  method: string;
  /** The route pattern, or `unmatched`. */
  route: string;
  status: number;
  /** `performance.now()` when the request arrived. */
  started: number;
  /** Built only when the line is written. */
  url: () => string;
  requestId: string | undefined;
}

/** The line and samples of one request; shared with the proxy's own listener (server/api/proxy-listener.ts). */
export function recordRequest(logger: Logger, metrics: Metrics, r: ServedRequest): void {
  const seconds = (performance.now() - r.started) / 1000;
  metrics.httpRequests.inc({ method: r.method, route: r.route, status: String(r.status) });
  metrics.httpDuration.observe({ method: r.method, route: r.route }, seconds);
  if (r.route === '/healthz' || r.route === '/metrics' || !logger.isLevelEnabled('info')) return;
  logger.info({ requestId: r.requestId, method: r.method, url: r.url(), status: r.status, ms: Math.round(seconds * 1000) }, 'request');
}

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
    const seconds = (performance.now() - started) / 1000;
    const matched = routePath(c, -1);
    // Only the catch-all middleware matched: no route answered this path.
    const route = !matched || matched === '/*' || matched === '*' ? 'unmatched' : matched;
    const status = c.res.status;
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(status) });
    metrics.httpDuration.observe({ method: c.req.method, route }, seconds);
    if (route === '/healthz' || route === '/metrics') return;
    logger.info(
      { requestId: c.get('requestId') as string | undefined, method: c.req.method, url: c.req.url, status, ms: Math.round(seconds * 1000) },
      'request',
    );
  };
}

import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one gateway. Each gateway owns its registry (no global default registry), so two
 * gateways in one process, as in tests, never share or double-register counters.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly tokenGrants: Counter<'route' | 'outcome'>;
  readonly tokenCacheLookups: Counter<'route' | 'result'>;
  readonly upstreamRequests: Counter<'kind' | 'status'>;
  readonly upstreamDuration: Histogram<'kind'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'onbehalf_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'onbehalf_http_requests_total',
      help: 'HTTP requests served, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'onbehalf_http_request_duration_seconds',
      help: 'Time to serve an HTTP request, by method and route pattern.',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    tokenGrants: new Counter({
      name: 'onbehalf_token_grants_total',
      help: 'Tokens minted from Atlassian (grants and refreshes), by route and outcome.',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    }),
    tokenCacheLookups: new Counter({
      name: 'onbehalf_token_cache_lookups_total',
      help: 'Token requests answered from the cache (hit) or needing a grant (miss), by route.',
      labelNames: ['route', 'result'],
      registers: [registry],
    }),
    upstreamRequests: new Counter({
      name: 'onbehalf_upstream_requests_total',
      help: 'Requests to Atlassian, by kind (token, api) and status (or network_error/timeout); 429s show here.',
      labelNames: ['kind', 'status'],
      registers: [registry],
    }),
    upstreamDuration: new Histogram({
      name: 'onbehalf_upstream_request_duration_seconds',
      help: 'Latency of requests to Atlassian, by kind.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}

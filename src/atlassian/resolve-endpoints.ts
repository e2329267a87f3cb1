import type { AtlassianConfig } from '../config.js';
import { GatewayError } from '../errors.js';
import { endpointsFromDiscovery, productionEndpoints, type AtlassianEndpoints } from './endpoints.js';

export interface ResolvedEndpoints {
  endpoints: AtlassianEndpoints;
  /** True when any endpoint is not Atlassian's production one: the gateway says so loudly at start. */
  nonProduction: boolean;
  source: 'production' | 'sandbox' | 'overrides';
}

/**
 * Where Atlassian is: production by default; a sandbox's discovery document when configured; then each
 * explicit override on top. Plain-http endpoints are refused unless insecure endpoints were allowed.
 */
export async function resolveEndpoints(config: AtlassianConfig, fetchImpl: typeof fetch): Promise<ResolvedEndpoints> {
  let base: AtlassianEndpoints = productionEndpoints;
  let source: ResolvedEndpoints['source'] = 'production';
  if (config.sandboxUrl) {
    const url = `${config.sandboxUrl}/_sandbox/discovery`;
    let doc: unknown;
    try {
      const res = await fetchImpl(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = await res.json();
    } catch (cause) {
      throw new GatewayError('CONFIG_INVALID', `ONBEHALF_SANDBOX_URL: cannot read ${url} (${(cause as Error).message}). Start the sandbox first (onbehalf sandbox) or unset the variable.`, { cause });
    }
    base = endpointsFromDiscovery(doc);
    source = 'sandbox';
  }
  const overrides = config.endpointOverrides;
  const endpoints: AtlassianEndpoints = Object.freeze({ ...base, ...overrides });
  if (Object.keys(overrides).length > 0 && source === 'production') source = 'overrides';
  if (!config.allowInsecure) {
    for (const [name, value] of Object.entries(endpoints)) {
      if (!value.startsWith('https://')) throw new GatewayError('CONFIG_INVALID', `Atlassian endpoint ${name} is not https (${value}); set ONBEHALF_ALLOW_INSECURE_ATLASSIAN=true if that is intended.`);
    }
  }
  const nonProduction = (Object.keys(productionEndpoints) as (keyof AtlassianEndpoints)[]).some((k) => endpoints[k] !== productionEndpoints[k]);
  return { endpoints, nonProduction, source };
}

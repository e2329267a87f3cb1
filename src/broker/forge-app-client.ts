import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { createActAsClient, type ActAsClient, type ActAsRetryOptions } from '../confluence/create-act-as-client.js';
import type { Tenant } from '../store/tenants-repo.js';
import type { ForgeInstallations } from '../tenants/forge-installation.js';

export interface ForgeAppClientDeps {
  installations: ForgeInstallations;
  fetch: typeof fetch;
  clock: Clock;
  allowInsecureHttp: boolean;
}

/** The installation's product API base (`app.apiBaseUrl` of its FITs, §10.5) plus `/wiki`. */
export function forgeApiBase(tenant: Tenant): string {
  const api = typeof tenant.payload?.['apiBaseUrl'] === 'string' ? tenant.payload['apiBaseUrl'] : `https://api.atlassian.com/ex/confluence/${tenant.cloudId ?? ''}`;
  return `${api.replace(/\/+$/, '')}/wiki`;
}

/**
 * Calls as the Forge app itself, with the installation's stored app system token (what Connect's `asApp` does
 * with a JWT): admin checks, user search and account look-ups on Forge sites. The token comes only with
 * invocations (§10.5), so a missing one is FORGE_TOKEN_UNAVAILABLE with the way out in its message.
 */
export function forgeAppClient(deps: ForgeAppClientDeps, tenant: Tenant, options: { retry?: ActAsRetryOptions } = {}): ActAsClient {
  return createActAsClient(
    { fetch: deps.fetch, clock: deps.clock },
    {
      apiBaseUrl: forgeApiBase(tenant),
      allowInsecureHttp: deps.allowInsecureHttp,
      ...(options.retry ? { retry: options.retry } : {}),
      credential: async () => {
        const system = await deps.installations.systemToken(tenant);
        if (!system) {
          throw new GatewayError('FORGE_TOKEN_UNAVAILABLE', `No live app system token is stored for the Forge installation on ${tenant.baseUrl}. The app's hourly scheduled trigger brings one; if none arrives, reinstall the app.`, { details: { installationId: tenant.tenantKey } });
        }
        return { authorization: `Bearer ${system.token}` };
      },
    },
  );
}

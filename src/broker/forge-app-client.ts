import type { ActAsIo } from './act-as-io.js';
import { GatewayError } from '../errors.js';
import { createActAsClient, type ActAsClient, type ActAsRetryOptions } from '../confluence/create-act-as-client.js';
import type { Tenant } from '../store/tenants-repo.js';
import type { ForgeInstallations } from '../tenants/forge-installation.js';

/** The product API base of a Forge installation (`app.apiBaseUrl` of its invocations) + `/wiki` (§10.5). */
export function forgeApiBase(tenant: Pick<Tenant, 'payload' | 'cloudId'>, apiGatewayUrl = 'https://api.atlassian.com'): string {
  const api = typeof tenant.payload?.['apiBaseUrl'] === 'string' ? tenant.payload['apiBaseUrl'] : `${apiGatewayUrl}/ex/confluence/${tenant.cloudId ?? ''}`;
  return `${api.replace(/\/+$/, '')}/wiki`;
}

/**
 * Confluence as the Forge app itself: the stored app system token as a Bearer under the installation's API
 * base, the Forge counterpart of a Connect app's JWT-signed `asApp` calls (user search, account checks).
 * There is no refresh: a new system token arrives only with an invocation (the hourly trigger), so a
 * missing one is an error that says so.
 */
export function createForgeAppClients(deps: ActAsIo & {
  installations: ForgeInstallations;
  apiGatewayUrl: string;
}): { asApp(tenant: Tenant, options?: { retry?: ActAsRetryOptions }): ActAsClient } {
  return {
    asApp(tenant, options = {}) {
      return createActAsClient(
        { fetch: deps.fetch, clock: deps.clock, ...(deps.sleep ? { sleep: deps.sleep } : {}), ...(deps.random ? { random: deps.random } : {}) },
        {
          apiBaseUrl: forgeApiBase(tenant, deps.apiGatewayUrl),
          allowInsecureHttp: deps.allowInsecureHttp,
          ...(options.retry ? { retry: options.retry } : {}),
          ...(deps.onUpstreamCall ? { onUpstreamCall: deps.onUpstreamCall } : {}),
          credential: async () => {
            if (tenant.status !== 'active') throw new GatewayError('TENANT_UNINSTALLED', `The Forge app is ${tenant.status} on ${tenant.baseUrl}.`, { details: { status: tenant.status } });
            const system = await deps.installations.systemToken(tenant);
            if (!system) throw forgeSystemTokenMissing(tenant);
            return { authorization: `Bearer ${system.token}` };
          },
        },
      );
    },
  };
}

/** The one message for "no live app system token": what it means and what to do. */
export function forgeSystemTokenMissing(tenant: Pick<Tenant, 'baseUrl' | 'tenantKey'>): GatewayError {
  return new GatewayError(
    'FORGE_TOKEN_UNAVAILABLE',
    `No live app system token is stored for the Forge installation on ${tenant.baseUrl}. Forge hands one out with every invocation: the app's hourly scheduled trigger keeps it fresh. If none arrives, check that the app is still installed on the site (reinstall it otherwise).`,
    { details: { installationId: tenant.tenantKey, retryable: false } },
  );
}

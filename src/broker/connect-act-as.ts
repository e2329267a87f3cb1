import type { ActAsIo } from './act-as-io.js';
import { GatewayError } from '../errors.js';
import { queryStringHash } from '../atlassian/canonical-request.js';
import { signConnectJwt } from '../atlassian/sign-connect-jwt.js';
import { createActAsClient, type ActAsClient, type ActAsRetryOptions } from '../confluence/create-act-as-client.js';
import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';
import type { ConnectTokenBroker } from './connect-token-broker.js';

export interface ConnectActAs {
  /** A fetch against the site's API as that user: Bearer tokens from the broker, one fresh grant after a 401. */
  asUser(tenant: Tenant, accountId: string, options?: { scopes?: readonly string[]; retry?: ActAsRetryOptions }): ActAsClient;
  /** A fetch as the app itself: each request signed with a Connect JWT whose qsh covers it. */
  asApp(tenant: Tenant, options?: { retry?: ActAsRetryOptions }): ActAsClient;
}

export interface ConnectActAsDeps extends ActAsIo {
  broker: ConnectTokenBroker;
  repos: Repositories;
  appKey: string;
  /** The broker's refresh skew: a held token is not reused within this much of its expiry. */
  refreshSkewMs: number;
}

/**
 * Confluence clients bound to one Connect site and one principal. Credentials only ever go to the site's
 * own base URL (the client refuses any other origin or a path outside `/wiki`).
 */
export function createConnectActAs(deps: ConnectActAsDeps): ConnectActAs {
  const clientDeps = {
    fetch: deps.fetch,
    clock: deps.clock,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  };
  const common = (retry: ActAsRetryOptions | undefined) => ({
    ...(retry ? { retry } : {}),
    ...(deps.onUpstreamCall ? { onUpstreamCall: deps.onUpstreamCall } : {}),
    allowInsecureHttp: deps.allowInsecureHttp,
  });

  return {
    asUser(tenant, accountId, options = {}) {
      const req = { tenant, accountId, ...(options.scopes ? { scopes: options.scopes } : {}) };
      let last: string | undefined;
      // The token this client was last given, reused while the broker has dropped nothing since and the
      // token has more than the skew left: the hot path then skips the broker's key building and lookup.
      let held: { credential: { authorization: string }; expiresAt: number; version: number } | undefined;
      return createActAsClient(clientDeps, {
        apiBaseUrl: tenant.baseUrl,
        ...common(options.retry),
        credential: ({ forceFresh }) => {
          // After a 401 the cached token is dropped (only if it is still the one that failed) and re-minted.
          if (forceFresh) {
            held = undefined;
            deps.broker.invalidate(req, last);
          }
          // The hot path answers at once, without a promise; only a trip to the broker is asynchronous.
          if (held && held.version === deps.broker.version && held.expiresAt - deps.refreshSkewMs > deps.clock.now()) return held.credential;
          const version = deps.broker.version;
          return deps.broker.tokenFor(req).then((token) => {
            last = token.accessToken;
            const credential = { authorization: `Bearer ${token.accessToken}` };
            held = { credential, expiresAt: token.expiresAt, version };
            return credential;
          });
        },
      });
    },
    asApp(tenant, options = {}) {
      return createActAsClient(clientDeps, {
        apiBaseUrl: tenant.baseUrl,
        ...common(options.retry),
        credential: async ({ method, apiPath }) => {
          if (tenant.status !== 'active') throw new GatewayError('TENANT_UNINSTALLED', `The app is ${tenant.status} on ${tenant.baseUrl}.`, { details: { status: tenant.status } });
          const secret = await deps.repos.tenants.sharedSecret(tenant.id);
          if (!secret) throw new GatewayError('TENANT_UNINSTALLED', `No shared secret is stored for ${tenant.baseUrl}; reinstall the app.`);
          const q = apiPath.indexOf('?');
          const qsh = queryStringHash({ method, pathname: q === -1 ? apiPath : apiPath.slice(0, q), query: q === -1 ? '' : apiPath.slice(q + 1) });
          // App-to-product JWTs name the app as issuer and the tenant as audience (protocol doc §1.2).
          const jwt = signConnectJwt({ iss: deps.appKey, aud: [tenant.tenantKey], qsh }, secret, deps.clock);
          return { authorization: `JWT ${jwt}` };
        },
      });
    },
  };
}

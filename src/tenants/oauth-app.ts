import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Repositories } from '../store/repositories.js';

export interface ResolvedOAuthApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scopes: string[];
  source: 'config' | 'sandbox';
}

/**
 * The 3LO app the gateway links with: from config; or, pointed at a sandbox without one, a client the
 * gateway registers with the sandbox itself (kept sealed in the store so restarts reuse it); else none.
 */
export async function resolveOAuthApp(deps: { config: Config; repos: Repositories; fetch: typeof fetch; logger: Logger }): Promise<ResolvedOAuthApp | null> {
  const { config } = deps;
  const redirectUri = `${config.server.baseUrl}/oauth/callback`;
  const scopes = [...new Set([...config.oauth.scopes, 'offline_access'])];
  if (config.oauth.clientId && config.oauth.clientSecret) {
    await deps.repos.oauthApps.upsert({ clientId: config.oauth.clientId, clientSecret: config.oauth.clientSecret, redirectUri, scopes, source: 'config' });
    return { clientId: config.oauth.clientId, clientSecret: config.oauth.clientSecret, redirectUri, scopes, source: 'config' };
  }
  if (!config.atlassian.sandboxUrl) return null;

  const previous = (await deps.repos.oauthApps.list()).find((a) => a.source === 'sandbox' && a.redirectUri === redirectUri);
  const clientId = previous?.clientId ?? `onbehalf-${randomBytes(8).toString('hex')}`;
  const clientSecret = previous?.clientSecret ?? randomBytes(32).toString('base64url');
  // Registering again is harmless and covers a sandbox that restarted and forgot the client.
  const res = await deps.fetch(`${config.atlassian.sandboxUrl}/_sandbox/oauth-clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ clientId, clientSecret, name: `${config.connect.appName} (3LO)`, redirectUris: [redirectUri], scopes }),
  });
  if (!res.ok) throw new GatewayError('CONFIG_INVALID', `The sandbox refused to register the gateway's 3LO client (HTTP ${res.status}).`);
  await res.body?.cancel();
  await deps.repos.oauthApps.upsert({ clientId, clientSecret, redirectUri, scopes, source: 'sandbox' });
  deps.logger.info({ clientId, redirectUri }, 'registered a 3LO client with the sandbox');
  return { clientId, clientSecret, redirectUri, scopes, source: 'sandbox' };
}

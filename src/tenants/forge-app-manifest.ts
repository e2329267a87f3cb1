import { stringify } from 'yaml';

/**
 * The manifest of the Forge app a deployer ships (forge-app/manifest.yml), rendered for one gateway URL and one
 * app id (protocol doc part 2, §10.1, §10.2, §10.7). The gateway is the app's only remote: UI calls from the two
 * Custom UI pages, the lifecycle and product-event triggers, and the hourly scheduled trigger that keeps a fresh
 * app system token (there is no refresh endpoint, §10.5) all reach it with a Forge Invocation Token.
 *
 * Both pages' resolvers are endpoints with `appUserToken` and `appSystemToken` on, so every UI call also brings
 * a fresh system token. Trigger endpoints carry only the system token: Forge refuses a user token there.
 */

/** The "Connect your account" global page: `/wiki/apps/<app uuid>/<env uuid>/connect-account`. */
export const FORGE_LINK_PAGE_ROUTE = 'connect-account';
export const FORGE_LINK_PAGE_KEY = 'connect-account';
/** The site-admin page (Confluence global settings); the remote accepts admin calls only from this module. */
export const FORGE_SETTINGS_KEY = 'onbehalf-settings';
export const FORGE_REMOTE_KEY = 'gateway';

/**
 * Scopes the gateway acts with as a user (offline tokens need `allowImpersonation` on each, §10.6), then the
 * ones it uses only as the app. Keep this list and docs/linking.md's table in step.
 */
export const FORGE_IMPERSONATION_SCOPES = [
  'read:confluence-content.summary',
  'read:confluence-content.all',
  'write:confluence-content',
  'read:confluence-space.summary',
  'read:page:confluence',
  'write:page:confluence',
  'read:space:confluence',
  'read:comment:confluence',
  'write:comment:confluence',
  'read:confluence-user',
] as const;
const APP_ONLY_SCOPES = ['read:app-system-token', 'read:app-user-token', 'read:confluence-groups', 'read:configuration:confluence', 'read:email-address:confluence'] as const;

/** Product events whose actors join the site's known accounts (POST /forge/events). */
export const FORGE_PRODUCT_EVENTS = ['avi:confluence:created:page', 'avi:confluence:updated:page', 'avi:confluence:created:comment', 'avi:confluence:updated:comment'] as const;

export interface ForgeAppManifestOptions {
  /** The gateway's public https URL (ONBEHALF_BASE_URL): the remote's baseUrl. */
  gatewayUrl: string;
  /** `ari:cloud:ecosystem::app/<uuid>` (or the UUID), from `forge register`. */
  appId: string;
  /** Whether a plain http gateway URL is acceptable (the sandbox); Forge itself wants https. */
  allowHttp?: boolean;
}

const APP_ARI = /^ari:cloud:ecosystem::app\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The app id as an ARI; throws a TypeError that says what was expected. */
export function forgeAppAri(appId: string): string {
  const ari = UUID.test(appId) ? `ari:cloud:ecosystem::app/${appId}` : appId;
  if (!APP_ARI.test(ari)) throw new TypeError(`The Forge app id must be ari:cloud:ecosystem::app/<uuid> (or the UUID), as "forge register" printed it; got "${appId}".`);
  return ari;
}

/** The remote's base URL: an absolute https URL (http only when allowed), no query or fragment, no trailing slash. */
export function forgeRemoteBaseUrl(gatewayUrl: string, allowHttp = false): string {
  let u: URL;
  try {
    u = new URL(gatewayUrl);
  } catch {
    throw new TypeError(`The gateway URL must be an absolute URL such as https://onbehalf.example.com; got "${gatewayUrl}".`);
  }
  if (u.protocol !== 'https:' && !(allowHttp && u.protocol === 'http:')) throw new TypeError(`The gateway URL must use https (Forge calls remotes over TLS); got "${gatewayUrl}".`);
  if (u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') throw new TypeError('The gateway URL must not carry credentials, a query or a fragment.');
  return u.href.replace(/\/+$/, '');
}

// Trigger endpoints may carry only the system token (no user is in session, §10.1).
const withTokens = (user: boolean) => ({ auth: { ...(user ? { appUserToken: { enabled: true } } : {}), appSystemToken: { enabled: true } } });

export function forgeAppManifest(options: ForgeAppManifestOptions): string {
  const appId = forgeAppAri(options.appId);
  const baseUrl = forgeRemoteBaseUrl(options.gatewayUrl, options.allowHttp ?? false);
  const scopes: Record<string, Record<string, boolean>> = {};
  for (const s of APP_ONLY_SCOPES) scopes[s] = {};
  for (const s of FORGE_IMPERSONATION_SCOPES) scopes[s] = { allowImpersonation: true };
  const manifest = {
    app: { id: appId, runtime: { name: 'nodejs22.x' } },
    modules: {
      'confluence:globalPage': [{ key: FORGE_LINK_PAGE_KEY, title: 'Connect your account', route: FORGE_LINK_PAGE_ROUTE, resource: 'connect-account', resolver: { endpoint: 'gateway-ui' } }],
      'confluence:globalSettings': [{ key: FORGE_SETTINGS_KEY, title: 'Acting on behalf of users', useAsConfig: true, resource: 'settings', resolver: { endpoint: 'gateway-admin' } }],
      endpoint: [
        { key: 'gateway-ui', remote: FORGE_REMOTE_KEY, ...withTokens(true) },
        { key: 'gateway-admin', remote: FORGE_REMOTE_KEY, ...withTokens(true) },
        { key: 'gateway-lifecycle', remote: FORGE_REMOTE_KEY, route: { path: '/forge/lifecycle' }, ...withTokens(false) },
        { key: 'gateway-events', remote: FORGE_REMOTE_KEY, route: { path: '/forge/events' }, ...withTokens(false) },
        { key: 'gateway-tick', remote: FORGE_REMOTE_KEY, route: { path: '/forge/tick' }, ...withTokens(false) },
      ],
      trigger: [
        { key: 'lifecycle', endpoint: 'gateway-lifecycle', events: ['avi:forge:installed:app', 'avi:forge:upgraded:app'] },
        { key: 'product-events', endpoint: 'gateway-events', events: [...FORGE_PRODUCT_EVENTS] },
      ],
      scheduledTrigger: [{ key: 'token-keepalive', endpoint: 'gateway-tick', interval: 'hour' }],
    },
    resources: [
      { key: 'connect-account', path: 'static/connect-account/build' },
      { key: 'settings', path: 'static/settings/build' },
    ],
    remotes: [{ key: FORGE_REMOTE_KEY, baseUrl, operations: ['compute', 'storage'], storage: { inScopeEUD: true } }],
    permissions: { scopes },
  };
  const header = `# The onbehalf Forge app. Rendered by: onbehalf forge manifest --gateway-url ${baseUrl} --app-id ${appId}\n# Render it again for your gateway and app id before "forge deploy"; see forge-app/README.md.\n`;
  return header + stringify(manifest, { lineWidth: 0 });
}

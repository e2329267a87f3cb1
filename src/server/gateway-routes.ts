import type { MiddlewareHandler } from 'hono';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { BackgroundTasks } from '../background-tasks.js';
import type { AtlassianEndpoints } from '../atlassian/endpoints.js';
import type { ResolvedEndpoints } from '../atlassian/resolve-endpoints.js';
import type { ConnectActAs } from '../broker/connect-act-as.js';
import type { Acting } from '../broker/acting.js';
import type { LinkSessions } from '../identity/link-sessions.js';
import type { Links } from '../identity/links.js';
import type { OAuthLinking } from '../identity/oauth-linking.js';
import type { EmailResolver } from '../identity/resolve-emails.js';
import type { AdminMapping } from '../identity/admin-mapping.js';
import { createWebhookCapture } from '../identity/capture-webhook.js';
import { createOAuthManage } from '../identity/oauth-manage.js';
import type { HotRepositories } from '../store/hot-reads.js';
import type { Repositories } from '../store/repositories.js';
import type { SecretBox } from '../store/secret-box.js';
import type { ConnectDescriptor } from '../tenants/connect-descriptor.js';
import type { ConnectLifecycle } from '../tenants/connect-lifecycle.js';
import type { ResolvedOAuthApp } from '../tenants/oauth-app.js';
import { packageVersion } from '../version.js';
import type { Metrics } from './metrics.js';
import type { RouteAuth, RouteDef } from './routes.js';
import { connectRoutes } from './connect/connect-routes.js';
import { linkRoutes } from './connect/link-routes.js';
import { configureRoutes } from './connect/configure-routes.js';
import { oauthRoutes } from './oauth/oauth-routes.js';
import { apiRoutes } from './api/api-routes.js';
import { apiKeyAuth, createApiKeyCheck } from './api/api-key-auth.js';
import { createProxyCall } from './api/proxy-call.js';
import { createProxyListener, type ProxyListener } from './api/proxy-listener.js';
import { DEFAULT_PROXY_OPTIONS } from './api/proxy.js';
import { createSiteAccess } from './api/site-access.js';
import { createWithLinkUrl } from './api/with-link-url.js';
import { createActivityLog, type ActivityLog } from './api/activity-log.js';
import { adminRoutes } from './admin/admin-routes.js';
import { adminAuth } from './admin/admin-auth.js';
import type { AdminDeps } from './admin/admin-deps.js';
import { isLoopback } from './admin/admin-security.js';
import { connectJwtAuth } from './middleware/connect-jwt-auth.js';
import { landingRoutes } from './pages/landing-routes.js';
import { docsRoutes } from './pages/docs-routes.js';
import { forgeRemoteRoutes } from './forge/forge-remote-routes.js';
import { forgeInvocationAuth } from './middleware/forge-invocation-auth.js';
import type { ForgeTokenVerifier } from '../atlassian/verify-forge-invocation-token.js';
import type { ForgeInstallations } from '../tenants/forge-installation.js';
import type { Tenant } from '../store/tenants-repo.js';
import type { ActAsClient } from '../confluence/create-act-as-client.js';
import { forgeLinkRoutes } from './forge/forge-link-routes.js';
import { forgeAdminRoutes } from './forge/forge-admin-routes.js';
import { forgeSiteUrl } from './forge/forge-link-url.js';
import type { ForgeEmailIndex } from '../identity/forge-email-index.js';

/** The services the gateway's HTTP surface is built on, made once by the composition root (gateway.ts). */
export interface GatewayRouteDeps {
  config: Config;
  repos: Repositories;
  /** The same repositories behind the memory of hot reads (API keys on every call; see store/hot-reads.ts). */
  hotRepos: HotRepositories;
  box: SecretBox;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  background: BackgroundTasks;
  fetch: typeof fetch;
  endpoints: AtlassianEndpoints;
  resolved: ResolvedEndpoints;
  descriptor: ConnectDescriptor;
  lifecycle: ConnectLifecycle;
  linkSessions: LinkSessions;
  links: Links;
  actAs: ConnectActAs;
  acting: Acting;
  adminMapping: AdminMapping;
  resolveEmails: EmailResolver;
  oauthApp: ResolvedOAuthApp | null;
  oauthLinking: OAuthLinking | null;
  /** Set when the gateway is a Forge app's remote (`ONBEHALF_FORGE_APP_ID`). */
  forge: { verifier: ForgeTokenVerifier; installations: ForgeInstallations; asApp: (tenant: Tenant) => ActAsClient; emailIndex?: ForgeEmailIndex | null } | null;
}

export interface GatewayRoutes {
  routes: RouteDef[];
  auth: Partial<Record<RouteAuth, MiddlewareHandler | null>>;
  /** The last act-as calls of this process, for the console's activity view (memory only, bounded). */
  activity: ActivityLog;
  /** Serves the act-as proxy straight from node:http, ahead of the app (server/api/proxy-listener.ts). */
  proxyListener: ProxyListener;
}

/**
 * Every route group of the gateway and the middleware for each auth kind: the table `createApp` serves.
 * A new route (the Forge remote, say) is one file under server/ and one entry here.
 */
export function gatewayRoutes(d: GatewayRouteDeps): GatewayRoutes {
  const { config, repos, clock, logger, oauthApp, oauthLinking } = d;
  const forge = d.forge;
  const contextPath = new URL(config.server.baseUrl).pathname.replace(/\/+$/, '');
  const jwtDeps = { repos, clock, appKey: config.connect.appKey, contextPath, leewaySeconds: config.atlassian.jwtLeewaySeconds };
  const activity = createActivityLog();
  // One API-key check (one set of rate-limit buckets) and one proxy call, shared by the app's route and the
  // proxy listener in front of it.
  const checkApiKey = createApiKeyCheck({ apiKeys: d.hotRepos.apiKeys, clock }, { rateLimit: { perSecond: config.api.rateLimitPerSecond, burst: config.api.rateLimitBurst } });
  const proxyCall = createProxyCall({
    access: createSiteAccess({ repos }),
    acting: d.acting,
    withLinkUrl: createWithLinkUrl({ repos, linkSessions: d.linkSessions }),
    clock,
    options: DEFAULT_PROXY_OPTIONS,
    activity,
  });
  const adminDeps: AdminDeps = {
    repos,
    links: d.links,
    adminMapping: d.adminMapping,
    clock,
    logger,
    baseUrl: config.server.baseUrl,
    appName: config.connect.appName,
    admin: config.admin,
    appKey: config.connect.appKey,
    oauthClientId: oauthApp?.clientId ?? null,
    forgeAppId: config.forge.appId,
    routeScopes: { connect: d.descriptor.scopes, oauth: oauthApp?.scopes ?? [] },
    activity,
    tryIt: { linkSessions: d.linkSessions, acting: d.acting },
  };
  if (config.admin.secret !== null && new URL(config.server.baseUrl).protocol === 'http:' && !isLoopback(config.server.baseUrl)) {
    logger.warn({ baseUrl: config.server.baseUrl }, 'The admin console is on, but ONBEHALF_BASE_URL is plain http on a non-loopback host: the admin secret and session cookie would cross the network unencrypted. Serve the gateway over https.');
  }
  const routes: RouteDef[] = [
    ...connectRoutes({
      descriptor: d.descriptor,
      lifecycle: d.lifecycle,
      background: d.background,
      captureWebhook: createWebhookCapture({ repos, fetch: d.fetch, logger }),
      webhookReplays: repos.webhookReplays,
      jwtLeewayMs: config.atlassian.jwtLeewaySeconds * 1000,
      logger,
    }),
    ...linkRoutes({
      repos,
      linkSessions: d.linkSessions,
      links: d.links,
      actAs: d.actAs,
      fetch: d.fetch,
      clock,
      logger,
      appKey: config.connect.appKey,
      appName: config.connect.appName,
      baseUrl: config.server.baseUrl,
      allJsUrl: d.endpoints.connectAllJsUrl,
      scopes: d.descriptor.scopes,
      ...(oauthLinking ? { oauthLinking } : {}),
      ...(d.forge && config.forge.appId ? { forge: { appId: config.forge.appId, asApp: d.forge.asApp } } : {}),
    }),
    ...(oauthLinking && oauthApp
      ? oauthRoutes({
          oauthLinking,
          oauthManage: createOAuthManage({ repos, links: d.links, box: d.box, clock, endpoints: d.endpoints, fetch: d.fetch, app: oauthApp }),
          repos,
          appName: config.connect.appName,
          baseUrl: config.server.baseUrl,
          scopes: oauthApp.scopes,
        })
      : []),
    ...configureRoutes({
      repos,
      adminMapping: d.adminMapping,
      links: d.links,
      actAs: d.actAs,
      fetch: d.fetch,
      logger,
      appName: config.connect.appName,
      baseUrl: config.server.baseUrl,
      allJsUrl: d.endpoints.connectAllJsUrl,
      adminGroups: config.connect.adminGroups,
    }),
    // The /v1 API for app backends (API keys) and /openapi.json.
    ...apiRoutes(
      {
        repos,
        clock,
        metrics: d.metrics,
        linkSessions: d.linkSessions,
        links: d.links,
        resolveEmails: d.resolveEmails,
        acting: d.acting,
        adminMapping: d.adminMapping,
        activity,
        proxyCall,
        apps: { connectAppKey: config.connect.appKey, forgeAppId: config.forge.appId },
      },
      { version: packageVersion() },
    ),
    // The admin console (server-rendered pages) at /admin.
    ...adminRoutes(adminDeps),
    // What a person finds at the root: what is running, and the way to the console, docs and API.
    ...landingRoutes({
      version: packageVersion(),
      baseUrl: config.server.baseUrl,
      appName: config.connect.appName,
      appKey: config.connect.appKey,
      adminConsole: config.admin.secret !== null,
      oauthConfigured: oauthApp !== null,
      forgeAppId: config.forge.appId,
      atlassian:
        d.resolved.source === 'sandbox' && config.atlassian.sandboxUrl
          ? { kind: 'sandbox', url: config.atlassian.sandboxUrl }
          : { kind: d.resolved.source === 'sandbox' ? 'overrides' : d.resolved.source },
    }),
    ...docsRoutes({ baseUrl: config.server.baseUrl, appName: config.connect.appName }),
    // The Forge remote's endpoints, when this gateway is one.
    ...(forge ? forgeRemoteRoutes({ repos, background: d.background, logger, learnSiteUrl: (tenant) => forgeSiteUrl({ repos, asApp: forge.asApp, logger }, tenant), emailIndex: forge.emailIndex ?? null }) : []),
    // The Forge app's two pages: "Connect your account" and the site admin's settings.
    ...(d.forge ? forgeLinkRoutes({ repos, linkSessions: d.linkSessions, links: d.links, fetch: d.fetch, clock, logger, appName: config.connect.appName }) : []),
    ...(d.forge ? forgeAdminRoutes({ repos, adminMapping: d.adminMapping, links: d.links, asApp: d.forge.asApp, appName: config.connect.appName, adminGroups: config.connect.adminGroups }) : []),
  ];
  return {
    routes,
    activity,
    proxyListener: createProxyListener({ checkApiKey, proxyCall, logger, metrics: d.metrics }),
    auth: {
      connectJwt: connectJwtAuth(jwtDeps, { allowContextQsh: false }),
      connectContext: connectJwtAuth(jwtDeps, { allowContextQsh: true }),
      admin: adminAuth(adminDeps),
      forgeInvocation: d.forge ? forgeInvocationAuth({ verifier: d.forge.verifier, installations: d.forge.installations, clock }) : null,
      apiKey: apiKeyAuth({ check: checkApiKey }),
    },
  };
}

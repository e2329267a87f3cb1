import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { resolveEndpoints } from './atlassian/resolve-endpoints.js';
import type { AtlassianEndpoints } from './atlassian/endpoints.js';
import { createBackgroundTasks, type BackgroundTasks } from './background-tasks.js';
import { createConnectActAs, type ConnectActAs } from './broker/connect-act-as.js';
import { createConnectTokenBroker, type ConnectTokenBroker } from './broker/connect-token-broker.js';
import { createWebhookCapture } from './identity/capture-webhook.js';
import { createLinkSessions, type LinkSessions } from './identity/link-sessions.js';
import { createLinks, type Links } from './identity/links.js';
import { resolveActing, type ActingRequest } from './identity/acting.js';
import { createEmailResolver, type EmailResolver } from './identity/resolve-emails.js';
import type { ActAsClient } from './confluence/create-act-as-client.js';
import type { IssuedToken } from './broker/connect-token-broker.js';
import { linkRoutes } from './server/connect/link-routes.js';
import { configureRoutes } from './server/connect/configure-routes.js';
import { connectRoutes } from './server/connect/connect-routes.js';
import { createApp } from './server/create-app.js';
import { connectJwtAuth } from './server/middleware/connect-jwt-auth.js';
import { connectDescriptor, type ConnectDescriptor } from './tenants/connect-descriptor.js';
import { createConnectLifecycle, type ConnectLifecycle } from './tenants/connect-lifecycle.js';
import { createMetrics, type Metrics } from './server/metrics.js';
import type { RouteDef } from './server/routes.js';
import { createStore, type Store } from './store/create-store.js';
import { keyFileLooseBits, loadKeyring } from './store/keyring.js';
import { createRepositories, type Repositories } from './store/repositories.js';
import { createSecretBox, type SecretBox } from './store/secret-box.js';
import { packageVersion } from './version.js';

export interface GatewayOptions {
  logger?: Logger;
  clock?: Clock;
  /** Skip applying migrations at start (`onbehalf serve --no-migrate`); /readyz then reports pending ones. */
  migrate?: boolean;
  /** Outbound HTTP to Atlassian (or a sandbox); tests plug an in-process sandbox in here. */
  fetch?: typeof fetch;
  /** Injected so retries never wait in real time in tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface ConnectServices {
  readonly descriptor: ConnectDescriptor;
  readonly lifecycle: ConnectLifecycle;
  readonly broker: ConnectTokenBroker;
  /** Confluence clients for a Connect site: `asUser(tenant, accountId).fetch(path)` and `asApp(tenant)`. */
  readonly actAs: ConnectActAs;
}

export interface Gateway {
  readonly config: Config;
  readonly app: Hono;
  readonly routes: readonly RouteDef[];
  readonly store: Store;
  readonly repos: Repositories;
  readonly box: SecretBox;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly endpoints: AtlassianEndpoints;
  readonly connect: ConnectServices;
  readonly background: BackgroundTasks;
  /**
   * Acts as one of your users (or an account, where policy allows) on a site: a standard fetch against
   * that site's Confluence API with the right credential. Refuses with USER_NOT_LINKED, REAUTH_REQUIRED,
   * POLICY_REFUSED, TENANT_NOT_FOUND or TENANT_UNINSTALLED.
   */
  asUser(req: ActingRequest & { scopes?: readonly string[] }): Promise<ActAsClient>;
  /** A valid access token for one of your users on a site, for apps that call Confluence themselves. */
  tokenFor(req: ActingRequest & { scopes?: readonly string[] }): Promise<IssuedToken>;
  /** Account linking: link sessions (start, decide, confirm) and links (list, revoke, admin mapping). */
  readonly linking: { readonly sessions: LinkSessions; readonly links: Links; readonly resolveEmails: EmailResolver };
  /** Serves the app over HTTP on the configured host and port; resolves with the URL it listens on. */
  listen(): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

/**
 * The composition root: the one place that builds store, secrets, repositories and the HTTP app from a
 * Config. Everything else receives what it needs from here.
 */
export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const clock = options.clock ?? systemClock;

  const loaded = loadKeyring(config.keys);
  if (loaded.generatedFile) {
    logger.warn(
      { keyFile: loaded.generatedFile },
      `Generated a new master key file at ${loaded.generatedFile} (mode 0600). Keep a copy with your backups: without it the encrypted secrets in the database cannot be read.`,
    );
  } else if (loaded.file && keyFileLooseBits(loaded.file) !== 0) {
    logger.warn({ keyFile: loaded.file }, `The key file ${loaded.file} is readable by other users; run: chmod 600 ${loaded.file}`);
  }
  const box = createSecretBox(loaded.keyring);

  const store = createStore(config.database);
  try {
    if (options.migrate ?? true) {
      const report = await store.migrate();
      if (report.applied.length > 0) logger.info({ applied: report.applied }, `Applied ${report.applied.length} migration(s) to ${store.description}`);
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  const outbound = options.fetch ?? fetch;
  let resolved: Awaited<ReturnType<typeof resolveEndpoints>>;
  try {
    resolved = await resolveEndpoints(config.atlassian, outbound);
  } catch (e) {
    await store.close();
    throw e;
  }
  if (resolved.nonProduction) {
    logger.warn(
      { source: resolved.source, endpoints: resolved.endpoints },
      `NOT PRODUCTION: this gateway talks to ${resolved.source === 'sandbox' ? `the sandbox at ${config.atlassian.sandboxUrl}` : 'overridden Atlassian endpoints'}, not to Atlassian Cloud.`,
    );
  }
  const endpoints = resolved.endpoints;

  const repos = createRepositories({ store, box, clock });
  const metrics = createMetrics();
  const background = createBackgroundTasks(logger);

  const broker = createConnectTokenBroker(
    {
      repos,
      endpoints,
      fetch: outbound,
      clock,
      logger,
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.random ? { random: options.random } : {}),
      onGrant: ({ tenant, accountId, scopes, outcome, code }) => {
        metrics.tokenGrants.inc({ route: 'connect', outcome });
        // The audit log records that a token was minted for whom, never the token.
        background.run('audit:token', () =>
          repos.audit
            .append({ action: outcome === 'ok' ? 'token.minted' : 'token.refused', actorType: 'system', cloudId: tenant.cloudId, accountId, route: 'connect', reason: code ?? null, data: { scopes } })
            .then(() => undefined),
        );
      },
      onLookup: (hit) => metrics.tokenCacheLookups.inc({ route: 'connect', result: hit ? 'hit' : 'miss' }),
    },
    { refreshSkewMs: config.broker.refreshSkewSeconds * 1000, cacheMaxEntries: config.broker.cacheMaxEntries },
  );
  const actAs = createConnectActAs({
    broker,
    repos,
    fetch: outbound,
    clock,
    appKey: config.connect.appKey,
    allowInsecureHttp: config.atlassian.allowInsecure,
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.random ? { random: options.random } : {}),
    onUpstreamCall: (info) => {
      metrics.upstreamRequests.inc({ kind: 'api', status: String(info.status) });
      metrics.upstreamDuration.observe({ kind: 'api' }, info.ms / 1000);
    },
  });
  const descriptor = connectDescriptor(config.connect, config.server.baseUrl);
  const lifecycle = createConnectLifecycle(
    { repos, clock, fetch: outbound, logger, onTenantGone: (tenant) => broker.purgeTenant(tenant) },
    { connect: config.connect, appBaseUrl: config.server.baseUrl, installKeysUrl: endpoints.installKeysUrl, leewaySeconds: config.atlassian.jwtLeewaySeconds },
  );
  const linkSessions = createLinkSessions({ repos, clock }, { baseUrl: config.server.baseUrl });
  const links = createLinks({
    repos,
    clock,
    onLinkGone: (link) => {
      broker.purgeAccount(link.accountId);
    },
  });
  const contextPath = new URL(config.server.baseUrl).pathname.replace(/\/+$/, '');
  const jwtDeps = { repos, clock, appKey: config.connect.appKey, contextPath, leewaySeconds: config.atlassian.jwtLeewaySeconds };

  const { app, routes } = createApp({
    store,
    logger,
    metrics,
    version: packageVersion(),
    routes: [
      ...connectRoutes({ descriptor, lifecycle, background, captureWebhook: createWebhookCapture({ repos, fetch: outbound, logger }) }),
      ...linkRoutes({
        repos,
        linkSessions,
        links,
        actAs,
        fetch: outbound,
        logger,
        appKey: config.connect.appKey,
        appName: config.connect.appName,
        baseUrl: config.server.baseUrl,
        allJsUrl: endpoints.connectAllJsUrl,
        scopes: descriptor.scopes,
      }),
      ...configureRoutes({
        repos,
        links,
        actAs,
        fetch: outbound,
        logger,
        appName: config.connect.appName,
        baseUrl: config.server.baseUrl,
        allJsUrl: endpoints.connectAllJsUrl,
        adminGroups: config.connect.adminGroups,
      }),
    ],
    auth: {
      connectJwt: connectJwtAuth(jwtDeps, { allowContextQsh: false }),
      connectContext: connectJwtAuth(jwtDeps, { allowContextQsh: true }),
    },
  });

  let server: ServerType | undefined;
  return {
    config,
    app,
    routes,
    store,
    repos,
    box,
    metrics,
    logger,
    clock,
    endpoints,
    connect: { descriptor, lifecycle, broker, actAs },
    background,
    linking: { sessions: linkSessions, links, resolveEmails: createEmailResolver({ repos, actAs, linkSessions, logger, appKey: config.connect.appKey }) },
    async asUser(req) {
      const target = await resolveActing({ repos, appKey: config.connect.appKey }, req);
      return actAs.asUser(target.tenant, target.accountId, req.scopes ? { scopes: req.scopes } : {});
    },
    async tokenFor(req) {
      const target = await resolveActing({ repos, appKey: config.connect.appKey }, req);
      return broker.tokenFor({ tenant: target.tenant, accountId: target.accountId, ...(req.scopes ? { scopes: req.scopes } : {}) });
    },
    listen() {
      return new Promise((resolve, reject) => {
        const s = serve({ fetch: app.fetch, hostname: config.server.host, port: config.server.port }, (info) => {
          const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
          resolve({ url: `http://${host}:${info.port}`, port: info.port });
        });
        s.once('error', reject);
        server = s;
      });
    },
    async close() {
      if (server) {
        const s = server;
        server = undefined;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          // Keep-alive sockets would hold close() open; end them once in-flight requests are done.
          if ('closeIdleConnections' in s) (s as { closeIdleConnections(): void }).closeIdleConnections();
        });
      }
      await background.drain();
      await store.close();
    },
  };
}

import { createServer, type RequestListener, type ServerOptions } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { resolveEndpoints } from './atlassian/resolve-endpoints.js';
import type { AtlassianEndpoints } from './atlassian/endpoints.js';
import { createBackgroundTasks, type BackgroundTasks } from './background-tasks.js';
import { createConnectActAs, type ConnectActAs } from './broker/connect-act-as.js';
import { createHttpFetch } from './confluence/http-fetch.js';
import { createConnectTokenBroker, type ConnectTokenBroker } from './broker/connect-token-broker.js';
import { createLinkSessions, type LinkSessions } from './identity/link-sessions.js';
import { createLinks, type Links } from './identity/links.js';
import type { ActingRequest } from './identity/acting.js';
import { createActing, type ActingToken } from './broker/acting.js';
import { createOAuthTokenBroker, type OAuthTokenBroker } from './broker/oauth-token-broker.js';
import { createOAuthLinking, type OAuthLinking } from './identity/oauth-linking.js';
import { resolveOAuthApp } from './tenants/oauth-app.js';
import { createEmailResolver, type EmailResolver } from './identity/resolve-emails.js';
import { createAdminMapping, type AdminMapping } from './identity/admin-mapping.js';
import type { ActAsClient, ActAsRetryOptions, UpstreamCallInfo } from './confluence/create-act-as-client.js';
import { createApp } from './server/create-app.js';
import { createForgeTokenVerifier } from './atlassian/verify-forge-invocation-token.js';
import { createForgeAppClients } from './broker/forge-app-client.js';
import { createForgeRoute } from './forge-route.js';
import type { ForgeInstallations } from './tenants/forge-installation.js';
import type { ForgeTokenBroker } from './broker/forge-token-broker.js';
import { createForgeEmailIndex, type ForgeEmailIndex } from './identity/forge-email-index.js';
import { createEmailHasher } from './store/email-hasher.js';
import type { Tenant } from './store/tenants-repo.js';
import { gatewayRoutes } from './server/gateway-routes.js';
import { connectDescriptor, type ConnectDescriptor } from './tenants/connect-descriptor.js';
import { createConnectLifecycle, type ConnectLifecycle } from './tenants/connect-lifecycle.js';
import { createMetrics, type Metrics } from './server/metrics.js';
import type { RouteDef } from './server/routes.js';
import { createStore, type Store } from './store/create-store.js';
import { keyFileLooseBits, loadKeyring } from './store/keyring.js';
import { hotReadsStamp, withHotReads } from './store/hot-reads.js';
import { watchChanges, type ChangeWatcher } from './store/watch-changes.js';
import { createRepositories, type Repositories } from './store/repositories.js';
import { createSecretBox, type SecretBox } from './store/secret-box.js';
import { packageVersion } from './version.js';

export interface GatewayOptions {
  logger?: Logger;
  clock?: Clock;
  /** Skip applying migrations at start (`onbehalf serve --no-migrate`); /readyz then reports pending ones. */
  migrate?: boolean;
  /**
   * Outbound HTTP to Atlassian (or a sandbox), for every call when given; tests plug an in-process sandbox
   * in here. Without it, calls to Confluence as a user go through kept-alive node:http pools
   * (`createHttpFetch`) and the rest through the global fetch.
   */
  fetch?: typeof fetch;
  /** Injected so retries never wait in real time in tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /**
   * Milliseconds on a monotonic clock for the memory of hot reads (API keys, installs, policies, links;
   * default `performance.now`) and the change watcher that vouches for it. Tests inject one to step over
   * the 1 s bound without waiting, or to freeze it so only notifications can invalidate.
   */
  hotReadsNow?: () => number;
  /** The change watcher (store/watch-changes.ts): tests decide when a dropped listener reconnects. */
  changeWatch?: { sleep?: (ms: number) => Promise<void>; pingIntervalMs?: number };
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
  /** Follows other processes' writes (PostgreSQL LISTEN/NOTIFY, SQLite data_version) for the hot reads. */
  readonly changeWatcher: ChangeWatcher;
  /**
   * Acts as one of your users (or an account, where policy allows) on a site: a standard fetch against
   * that site's Confluence API with the right credential. Refuses with USER_NOT_LINKED, REAUTH_REQUIRED,
   * POLICY_REFUSED, TENANT_NOT_FOUND or TENANT_UNINSTALLED.
   */
  asUser(req: ActingRequest & { scopes?: readonly string[] }): Promise<ActAsClient>;
  /** A valid access token for one of your users on a site, for apps that call Confluence themselves; says which route. */
  tokenFor(req: ActingRequest & { scopes?: readonly string[] }): Promise<ActingToken>;
  /** The OAuth 2.0 (3LO) route: its token broker and linking flow; null when no 3LO app is configured. */
  readonly oauth: { readonly broker: OAuthTokenBroker; readonly linking: OAuthLinking; readonly clientId: string } | null;
  /** The Forge route (the gateway as a Forge remote): its installations and offline-token broker; null without ONBEHALF_FORGE_APP_ID. */
  readonly forge: { readonly appId: string; readonly installations: ForgeInstallations; readonly broker: ForgeTokenBroker } | null;
  /** Account linking: link sessions (start, decide, confirm) and links (list, revoke, admin mapping). */
  readonly linking: { readonly sessions: LinkSessions; readonly links: Links; readonly resolveEmails: EmailResolver; readonly adminMapping: AdminMapping };
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
  // Keyed hashes of emails (the Forge sites' user index), under keys derived from the same master keys.
  const emailHasher = createEmailHasher(loaded.keyring);

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
  // Calls to Confluence as a user (proxy and embedded asUser) are the hot path: they go through kept-alive
  // node:http pools, which cost about half the CPU of the global fetch per call (docs/benchmarks.md).
  const confluenceFetch = options.fetch ? undefined : createHttpFetch();
  const actAsIo = confluenceFetch ? { fetch: confluenceFetch } : {};
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
  // What every API request and acting decision reads (key, installs, policy, the user's live link), kept in
  // memory: dropped at once by this process's writes, and by other processes' through the change watcher.
  const hotNow = options.hotReadsNow ?? (() => performance.now());
  const hotRepos = withHotReads(repos, { now: hotNow });
  const metrics = createMetrics();
  const background = createBackgroundTasks(logger);
  // What every outbound component shares: where requests go, time, and (in tests) instant retries.
  const io = {
    fetch: outbound,
    clock,
    logger,
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.random ? { random: options.random } : {}),
  };
  // Durable per-minute counts for the admin overview's chart: one upsert per grant (a grant happens once per
  // token lifetime, not per call), shared by every instance on the same database.
  const recordMint = (route: 'connect' | 'oauth'): void => background.run('mints', () => repos.tokenMints.record(route));
  const onUpstreamCall = (info: UpstreamCallInfo): void => {
    metrics.upstreamRequests.inc({ kind: 'api', status: String(info.status) });
    metrics.upstreamDuration.observe({ kind: 'api' }, info.ms / 1000);
  };

  const broker = createConnectTokenBroker(
    {
      ...io,
      repos,
      endpoints,
      onGrant: ({ tenant, accountId, scopes, outcome, code }) => {
        metrics.tokenGrants.inc({ route: 'connect', outcome });
        if (outcome === 'ok') recordMint('connect');
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
  const actAs = createConnectActAs({ ...io, ...actAsIo, broker, repos, appKey: config.connect.appKey, allowInsecureHttp: config.atlassian.allowInsecure, refreshSkewMs: config.broker.refreshSkewSeconds * 1000, onUpstreamCall });
  const descriptor = connectDescriptor(config.connect, config.server.baseUrl);
  const lifecycle = createConnectLifecycle(
    { repos, clock, fetch: outbound, logger, onTenantGone: (tenant) => broker.purgeTenant(tenant) },
    { connect: config.connect, appBaseUrl: config.server.baseUrl, installKeysUrl: endpoints.installKeysUrl, leewaySeconds: config.atlassian.jwtLeewaySeconds },
  );
  const linkSessions = createLinkSessions({ repos, clock }, { baseUrl: config.server.baseUrl });

  let oauthApp: Awaited<ReturnType<typeof resolveOAuthApp>>;
  try {
    oauthApp = await resolveOAuthApp({ config, repos, fetch: outbound, logger });
  } catch (e) {
    await store.close();
    throw e;
  }
  const oauthBroker = oauthApp
    ? createOAuthTokenBroker(
        {
          ...io,
          store,
          repos,
          endpoints,
          onGrantStored: () => recordMint('oauth'),
          onRefresh: ({ accountId, outcome, trigger, code }) => {
            metrics.tokenGrants.inc({ route: 'oauth', outcome });
            if (outcome === 'ok') recordMint('oauth');
            // Audited without the token: who, how (on demand or the idle job), and how it ended.
            background.run('audit:refresh', () =>
              repos.audit
                .append({ action: outcome === 'ok' ? 'token.refreshed' : 'token.refresh_failed', actorType: 'system', accountId, route: 'oauth', reason: code ?? trigger })
                .then(() => undefined),
            );
          },
          onLookup: (hit) => metrics.tokenCacheLookups.inc({ route: 'oauth', result: hit ? 'hit' : 'miss' }),
          // Atlassian refused the refresh token: the user must consent again; never retry forever.
          onInvalidGrant: async ({ accountId, reason }) => {
            for (const link of await repos.links.list({ accountId, route: 'oauth', status: 'linked' })) {
              await repos.links.setStatus(link.id, 'reauth_required', { reason, from: ['linked'] });
              await repos.audit.append({ action: 'link.reauth_required', actorType: 'system', accountId, externalUserId: link.externalUserId, cloudId: link.cloudId, route: 'oauth', reason });
              await repos.events.append({ type: 'link.reauth_required', cloudId: link.cloudId, accountId, externalUserId: link.externalUserId, data: { linkId: link.id, reason } });
            }
          },
        },
        { clientId: oauthApp.clientId, clientSecret: oauthApp.clientSecret, refreshSkewMs: config.broker.refreshSkewSeconds * 1000, cacheMaxEntries: config.broker.cacheMaxEntries },
      )
    : null;
  const oauthLinking =
    oauthApp && oauthBroker ? createOAuthLinking({ repos, linkSessions, broker: oauthBroker, endpoints, fetch: outbound, clock, logger, app: oauthApp }) : null;

  const links = createLinks({
    repos,
    clock,
    onLinkGone: async (link) => {
      broker.purgeAccount(link.accountId);
      forgeBroker?.purgeAccount(link.accountId);
      // A 3LO grant belongs to the account, not the site: drop it once no live 3LO link of the account remains.
      if (link.route === 'oauth' && oauthBroker) {
        const others = await repos.links.list({ accountId: link.accountId, route: 'oauth', status: ['pending_confirmation', 'linked', 'reauth_required'] });
        if (others.every((l) => l.id === link.id)) await oauthBroker.revoke({ accountId: link.accountId });
      }
    },
  });
  // Forge installations are tenants too; their offline user tokens come from the stored system token.
  const { installations: forgeInstallations, broker: forgeBroker } = createForgeRoute({ config, store, repos, clock, logger, metrics, background, endpoints, fetch: outbound });
  const acting = createActing({
    ...io,
    ...actAsIo,
    resolve: { repos: hotRepos, appKey: config.connect.appKey, oauthClientId: oauthApp?.clientId ?? null, forgeAppId: config.forge.appId },
    defaultScopes: { connect: descriptor.scopes, oauth: oauthApp?.scopes ?? [] },
    connectBroker: broker,
    connectActAs: actAs,
    oauthBroker,
    forgeBroker,
    endpoints,
    allowInsecureHttp: config.atlassian.allowInsecure,
    onUpstreamCall,
    decisionStamp: hotReadsStamp(hotRepos),
  });
  // Confluence as the app: a Connect install signs each call; a Forge installation sends its system token.
  const forgeApp = createForgeAppClients({ ...io, ...actAsIo, installations: forgeInstallations, apiGatewayUrl: endpoints.apiGatewayUrl, allowInsecureHttp: config.atlassian.allowInsecure, onUpstreamCall });
  const asApp = (tenant: Parameters<typeof forgeApp.asApp>[0]) => (tenant.route === 'forge' ? forgeApp.asApp(tenant) : actAs.asApp(tenant));
  const adminMapping = createAdminMapping({ repos, links, asApp });
  const forgeEmailIndex: ForgeEmailIndex | null = config.forge.appId
    ? createForgeEmailIndex({ repos, installations: forgeInstallations, hasher: emailHasher, apiGatewayUrl: endpoints.apiGatewayUrl, fetch: outbound, clock, logger })
    : null;
  const resolveEmails = createEmailResolver({
    repos,
    actAs,
    linkSessions,
    logger,
    appKey: config.connect.appKey,
    forge: config.forge.appId && forgeEmailIndex ? { appId: config.forge.appId, index: forgeEmailIndex } : null,
  });
  const surface = gatewayRoutes({
    config,
    repos,
    hotRepos,
    box,
    clock,
    logger,
    metrics,
    background,
    fetch: outbound,
    endpoints,
    resolved,
    descriptor,
    lifecycle,
    linkSessions,
    links,
    actAs,
    acting,
    adminMapping,
    resolveEmails,
    oauthApp,
    oauthLinking,
    forge: config.forge.appId
      ? {
          verifier: createForgeTokenVerifier({ appId: config.forge.appId, jwksUrl: endpoints.forgeJwksUrl, fetch: outbound, clock, leewaySeconds: config.atlassian.jwtLeewaySeconds }),
          installations: forgeInstallations,
          // A page waits on these calls: one retry at most.
          asApp: (tenant: Tenant) => forgeApp.asApp(tenant, { retry: { maxAttempts: 2 } }),
          emailIndex: forgeEmailIndex,
        }
      : null,
  });
  const { app, routes } = createApp({ store, logger, metrics, version: packageVersion(), routes: surface.routes, auth: surface.auth });

  let server: ServerType | undefined;
  let idleRefresher: { stop(): Promise<void> } | undefined;
  let maintenance: ReturnType<typeof setInterval> | undefined;
  // Hourly while serving: tenants past their retention are purged, and link sessions a week past expiry.
  const maintain = () =>
    background.run('maintenance', async () => {
      const purged = await lifecycle.purge();
      const sessions = await repos.linkSessions.deleteExpired(clock.now() - 7 * 86_400_000);
      const adminSessions = await repos.adminSessions.deleteExpired(clock.now() - config.admin.sessionIdleMs);
      const mints = await repos.tokenMints.deleteBefore(clock.now() - 7 * 86_400_000);
      await repos.webhookReplays.deleteExpired();
      if (purged.length > 0 || sessions > 0) logger.info({ tenants: purged.length, linkSessions: sessions, adminSessions, mintBuckets: mints }, 'purged expired data');
    });
  // Started last, once nothing above can fail: it holds a connection (PostgreSQL) or a timer (SQLite).
  // Its first LISTEN or poll drops whatever the hot reads remembered before it.
  const changeWatcher = watchChanges(store, config.database, {
    now: hotNow,
    logger,
    ...(options.changeWatch?.sleep ? { sleep: options.changeWatch.sleep } : {}),
    ...(options.changeWatch?.pingIntervalMs ? { pingIntervalMs: options.changeWatch.pingIntervalMs } : {}),
  });
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
    forge: config.forge.appId && forgeBroker ? { appId: config.forge.appId, installations: forgeInstallations, broker: forgeBroker } : null,
    background,
    changeWatcher,
    linking: { sessions: linkSessions, links, resolveEmails, adminMapping },
    asUser: acting.asUser,
    tokenFor: acting.tokenFor,
    oauth: oauthApp && oauthBroker && oauthLinking ? { broker: oauthBroker, linking: oauthLinking, clientId: oauthApp.clientId } : null,
    listen() {
      return new Promise((resolve, reject) => {
        const proxyFirst = ((options: ServerOptions, appListener: RequestListener) =>
          createServer(options, (req, res) => {
            if (!surface.proxyListener(req, res)) void appListener(req, res);
          })) as typeof createServer;
        const s = serve({ fetch: app.fetch, hostname: config.server.host, port: config.server.port, createServer: proxyFirst }, (info) => {
          const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
          resolve({ url: `http://${host}:${info.port}`, port: info.port });
        });
        s.once('error', reject);
        server = s;
        // Only a serving gateway keeps quiet users' 3LO grants alive; CLI commands and tests do not.
        maintain();
        maintenance = setInterval(maintain, 3600_000);
        maintenance.unref();
        if (oauthBroker && config.oauth.idleRefreshDays > 0) {
          // The first run comes soon after start: instances that restart more often than the interval
          // would otherwise never refresh a quiet user's grant.
          idleRefresher = oauthBroker.startIdleRefresher({ intervalMs: 6 * 3600_000, firstRunAfterMs: 60_000, idleForMs: config.oauth.idleRefreshDays * 86_400_000 });
        }
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
      if (maintenance) clearInterval(maintenance);
      await idleRefresher?.stop();
      await background.drain();
      confluenceFetch?.close();
      await changeWatcher.close();
      await store.close();
    },
  };
}

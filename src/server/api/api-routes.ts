import type { Context, Handler } from 'hono';
import { Gauge } from 'prom-client';
import type { z } from 'zod';
import type { Clock } from '../../clock.js';
import { GatewayError, type ErrorCode } from '../../errors.js';
import type { LinkSessions } from '../../identity/link-sessions.js';
import type { Links } from '../../identity/links.js';
import type { EmailResolver } from '../../identity/resolve-emails.js';
import type { AdminMapping } from '../../identity/admin-mapping.js';
import type { ApiKey } from '../../store/api-keys-repo.js';
import type { Link as StoredLink } from '../../store/links-repo.js';
import type { Repositories } from '../../store/repositories.js';
import { findTenant } from '../../tenants/find-tenant.js';
import { findAppTenant } from '../../tenants/find-app-tenant.js';
import type { Metrics } from '../metrics.js';
import type { RouteAuth, RouteDef } from '../routes.js';
import type { ActivityLog } from './activity-log.js';
import { buildOpenApi, type OpenApiDocument } from './openapi.js';
import type { ApiOperation } from './api-operation.js';

export type { ApiOperation } from './api-operation.js';
import { DEFAULT_PROXY_OPTIONS, answerResponse, type ProxyOptions } from './proxy.js';
import { createProxyCall, PROXY_PREFIX, type ProxyCall } from './proxy-call.js';
import { createWithLinkUrl } from './with-link-url.js';
import { parseJsonBody, parseQuery, validationError } from './read-input.js';
import * as S from './schemas.js';
import { createSiteAccess } from './site-access.js';

import type { ApiActing } from './api-acting.js';
export type { ApiActing } from './api-acting.js';

export interface ApiRoutesDeps {
  repos: Repositories;
  clock: Clock;
  linkSessions: LinkSessions;
  links: Links;
  resolveEmails: EmailResolver;
  acting: ApiActing;
  adminMapping: AdminMapping;
  /** This gateway's own apps: admin mapping works through the site's Connect install, else its Forge installation. */
  apps?: { connectAppKey: string; forgeAppId: string | null };
  /** Registers the links-by-status gauge on this registry (once). */
  metrics?: Metrics;
  /** Where each proxied call is noted for the admin console's activity view (in memory, never awaited). */
  activity?: ActivityLog;
  /** The proxy call shared with the gateway's own proxy listener; made here when not given. */
  proxyCall?: ProxyCall;
}

export interface ApiRoutesOptions {
  proxy?: ProxyOptions;
  /** The API's title and version in /openapi.json. */
  version?: string;
}

interface Input<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  apiKey: ApiKey;
  c: Context;
}


const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function linkToWire(l: StoredLink): S.LinkWire {
  return {
    id: l.id,
    externalUserId: l.externalUserId,
    cloudId: l.cloudId,
    accountId: l.accountId,
    route: l.route,
    scopes: l.scopes,
    status: l.status,
    statusReason: l.statusReason,
    createdAt: iso(l.createdAt),
    verifiedAt: isoOrNull(l.verifiedAt),
    updatedAt: iso(l.updatedAt),
    revokedAt: isoOrNull(l.revokedAt),
  };
}

function keyOf(c: Context): ApiKey {
  const key = c.get('apiKey' as never) as ApiKey | undefined;
  if (!key) throw new GatewayError('UNAUTHENTICATED', 'No API key on this request.');
  return key;
}

const AUTH_ERRORS: readonly ErrorCode[] = ['UNAUTHENTICATED', 'RATE_LIMITED'];
const ACTING_ERRORS: readonly ErrorCode[] = ['USER_NOT_LINKED', 'REAUTH_REQUIRED', 'POLICY_REFUSED', 'TENANT_NOT_FOUND', 'TENANT_UNINSTALLED', 'FORBIDDEN'];
const UPSTREAM_ERRORS: readonly ErrorCode[] = ['ATLASSIAN_ERROR', 'ATLASSIAN_UNAVAILABLE', 'ATLASSIAN_TIMEOUT'];

export { PROXY_PREFIX } from './proxy-call.js';

/**
 * The /v1 HTTP API for app backends: link sessions, links, resolve, tokens, events and the act-as proxy,
 * plus /openapi.json generated from the same zod schemas that validate the requests.
 */
export function apiOperations(deps: ApiRoutesDeps, options: ApiRoutesOptions = {}): ApiOperation[] {
  const { repos, linkSessions, links, acting } = deps;
  const access = createSiteAccess({ repos });
  const proxyOptions = options.proxy ?? DEFAULT_PROXY_OPTIONS;

  if (deps.metrics && !deps.metrics.registry.getSingleMetric('onbehalf_links')) {
    new Gauge({
      name: 'onbehalf_links',
      help: 'Account links by status.',
      labelNames: ['status'],
      registers: [deps.metrics.registry],
      async collect() {
        this.reset();
        try {
          for (const [status, n] of Object.entries(await repos.links.countByStatus())) this.set({ status }, n);
        } catch {
          // a scrape must not fail because the store is briefly away
        }
      },
    });
  }

  const withLinkUrl = createWithLinkUrl({ repos, linkSessions });

  async function visibleLink(key: ApiKey, id: string): Promise<StoredLink> {
    const link = await links.get(id);
    if (!link || !(await access.allowsCloudId(key, link.cloudId))) throw new GatewayError('NOT_FOUND', `There is no link ${id}.`);
    return link;
  }

  const op = <P, Q, B>(
    def: Omit<ApiOperation, 'handler' | 'params' | 'query' | 'body'> & { params?: z.ZodType<P>; query?: z.ZodType<Q>; body?: z.ZodType<B> },
    run: (input: Input<P, Q, B>) => Promise<unknown>,
  ): ApiOperation => ({
    ...def,
    handler: async (c) => {
      let params = undefined as P;
      if (def.params) {
        const r = def.params.safeParse(c.req.param());
        if (!r.success) throw validationError('path', r.error);
        params = r.data;
      }
      const query = def.query ? parseQuery(new URL(c.req.url), def.query) : (undefined as Q);
      const body = def.body ? await parseJsonBody(c.req.raw, def.body) : (undefined as B);
      const result = await run({ params, query, body, apiKey: keyOf(c), c });
      return c.json(result as object, def.success.status);
    },
  });

  const proxyCall = deps.proxyCall ?? createProxyCall({ access, acting, withLinkUrl, clock: deps.clock, options: proxyOptions, ...(deps.activity ? { activity: deps.activity } : {}) });
  const proxyHandler: Handler = async (c) =>
    answerResponse(
      await proxyCall({
        key: keyOf(c),
        url: new URL(c.req.url),
        // Node's server hands over the raw request target; an in-process Request was already resolved by its caller.
        rawTarget: (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url,
        request: c.req.raw,
        requestId: (c.get('requestId') as string | undefined) ?? '',
      }),
    );

  const appTenant = (site: string) => (deps.apps ? findAppTenant(repos, site, deps.apps) : findTenant(repos, site, { route: 'connect' }));

  const operations: ApiOperation[] = [
    op(
      {
        method: 'POST',
        path: '/v1/link-sessions',
        auth: 'apiKey',
        operationId: 'createLinkSession',
        tag: 'Linking',
        summary: 'Start linking one of your users to their Atlassian account; send the user to the returned URL.',
        body: S.CreateLinkSessionBody,
        success: { status: 201, description: 'The session; `url` is where the user goes.', schema: S.LinkSessionCreated },
        errors: ['VALIDATION_FAILED', 'BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'FORBIDDEN', 'TENANT_NOT_FOUND', 'TENANT_UNINSTALLED'],
      },
      async ({ body, apiKey }) => {
        let cloudId: string | null = null;
        if (body.site) {
          await access.assertSite(apiKey, body.site);
          const tenant = await findTenant(repos, body.site);
          cloudId = tenant.cloudId;
          if (!cloudId) throw new GatewayError('ATLASSIAN_UNAVAILABLE', `The cloud id of ${tenant.baseUrl} is not known yet; try again shortly.`);
        } else if (apiKey.sites) {
          throw new GatewayError('FORBIDDEN', 'This API key is limited to some sites: name the site to link on.', { details: { reason: 'site_required_for_limited_key' } });
        }
        const s = await linkSessions.start({
          externalUserId: body.externalUserId,
          route: body.route,
          cloudId,
          returnUrl: body.returnUrl ?? null,
          emailHint: body.emailHint ?? null,
          requireConfirmation: body.requireConfirmation,
          apiKeyId: apiKey.id,
          ttlMs: body.ttlSeconds * 1000,
        });
        return { id: s.id, url: s.url, expiresAt: iso(s.expiresAt) } satisfies S.LinkSessionCreatedWire;
      },
    ),
    op(
      {
        method: 'GET',
        path: '/v1/link-sessions/:id',
        auth: 'apiKey',
        operationId: 'getLinkSession',
        tag: 'Linking',
        summary: 'Read a link session: pending, pending_confirmation, linked, denied or expired.',
        params: S.IdParam,
        success: { status: 200, description: 'The session.', schema: S.LinkSessionView },
        errors: ['NOT_FOUND'],
      },
      async ({ params, apiKey }) => {
        const s = await linkSessions.get(params.id);
        if (!s || !(s.apiKeyId === apiKey.id || (await access.allowsCloudId(apiKey, s.cloudId)))) throw new GatewayError('NOT_FOUND', `There is no link session ${params.id}.`);
        return {
          id: s.id,
          externalUserId: s.externalUserId,
          route: s.route,
          cloudId: s.cloudId,
          status: s.status,
          linkId: s.linkId,
          createdAt: iso(s.createdAt),
          expiresAt: iso(s.expiresAt),
          completedAt: isoOrNull(s.completedAt),
        } satisfies S.LinkSessionViewWire;
      },
    ),
    op(
      {
        method: 'POST',
        path: '/v1/link-sessions/:id/confirm',
        auth: 'apiKey',
        operationId: 'confirmLinkSession',
        tag: 'Linking',
        summary: 'Confirm a link with the completion code the user brought back to your return URL (the forwarded-link guard).',
        params: S.IdParam,
        body: S.ConfirmLinkSessionBody,
        success: { status: 200, description: 'The link, now usable.', schema: S.Link },
        errors: ['NOT_FOUND', 'LINK_SESSION_INVALID', 'LINK_SESSION_EXPIRED', 'VALIDATION_FAILED', 'BAD_REQUEST'],
      },
      async ({ params, body, apiKey }) => {
        const s = await linkSessions.get(params.id);
        if (!s || !(s.apiKeyId === apiKey.id || (await access.allowsCloudId(apiKey, s.cloudId)))) throw new GatewayError('NOT_FOUND', `There is no link session ${params.id}.`);
        const link = await linkSessions.confirm(params.id, body.code, body.externalUserId !== undefined ? { externalUserId: body.externalUserId } : {});
        return linkToWire(link);
      },
    ),
    op(
      {
        method: 'GET',
        path: '/v1/links',
        auth: 'apiKey',
        operationId: 'listLinks',
        tag: 'Links',
        summary: 'List links by your user, by Atlassian account, by site or by status.',
        query: S.ListLinksQuery,
        success: { status: 200, description: 'The links, newest first.', schema: S.LinkList },
        errors: ['VALIDATION_FAILED', 'FORBIDDEN', 'TENANT_NOT_FOUND', 'TENANT_UNINSTALLED'],
      },
      async ({ query, apiKey }) => {
        let cloudId: string | undefined;
        if (query.site) {
          await access.assertSite(apiKey, query.site);
          cloudId = (await findTenant(repos, query.site)).cloudId ?? undefined;
        }
        const found = await links.list({
          ...(query.externalUserId ? { externalUserId: query.externalUserId } : {}),
          ...(query.accountId ? { accountId: query.accountId } : {}),
          ...(cloudId ? { cloudId } : {}),
          ...(query.status ? { status: query.status } : {}),
          limit: query.limit,
        });
        const visible: StoredLink[] = [];
        for (const l of found) if (await access.allowsCloudId(apiKey, l.cloudId)) visible.push(l);
        return { links: visible.map(linkToWire) };
      },
    ),
    op(
      {
        method: 'GET',
        path: '/v1/links/:id',
        auth: 'apiKey',
        operationId: 'getLink',
        tag: 'Links',
        summary: 'Read one link.',
        params: S.IdParam,
        success: { status: 200, description: 'The link.', schema: S.Link },
        errors: ['NOT_FOUND'],
      },
      async ({ params, apiKey }) => linkToWire(await visibleLink(apiKey, params.id)),
    ),
    op(
      {
        method: 'DELETE',
        path: '/v1/links/:id',
        auth: 'apiKey',
        operationId: 'revokeLink',
        tag: 'Links',
        summary: 'Revoke a link at once: its tokens are dropped and the next act-as call for that user is refused.',
        params: S.IdParam,
        success: { status: 200, description: 'The revoked link.', schema: S.Link },
        errors: ['NOT_FOUND'],
      },
      async ({ params, apiKey }) => {
        await visibleLink(apiKey, params.id);
        return linkToWire(await links.revoke({ linkId: params.id, actorType: 'api_key', actorId: apiKey.id, reason: 'revoked_by_api' }));
      },
    ),
    op(
      {
        method: 'POST',
        path: '/v1/resolve',
        auth: 'apiKey',
        operationId: 'resolveEmails',
        tag: 'Linking',
        summary: 'Resolve emails to Atlassian accounts from evidence only; unresolved users you named get a link URL.',
        body: S.ResolveBody,
        success: { status: 200, description: 'One result per email, in order.', schema: S.ResolveResult },
        errors: ['VALIDATION_FAILED', 'BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'FORBIDDEN', 'TENANT_NOT_FOUND', 'TENANT_UNINSTALLED', 'FORGE_TOKEN_UNAVAILABLE', 'ATLASSIAN_ERROR', 'ATLASSIAN_UNAVAILABLE', 'ATLASSIAN_TIMEOUT'],
      },
      async ({ body, apiKey }) => {
        await access.assertSite(apiKey, body.site);
        const users = body.users.map((u) => ({ email: u.email, ...(u.externalUserId ? { externalUserId: u.externalUserId } : {}) }));
        return { results: await deps.resolveEmails({ site: body.site, users, apiKeyId: apiKey.id }) };
      },
    ),
    op(
      {
        method: 'GET',
        path: '/v1/admin/site-users',
        auth: 'apiKey',
        operationId: 'searchSiteUsers',
        tag: 'Admin mapping',
        summary: "Search a site's users by name (Confluence user search, as the app), to pick accounts to map.",
        query: S.SiteUsersQuery,
        success: { status: 200, description: 'Matching people, with the user each is linked to, if any.', schema: S.SiteUserList },
        errors: ['VALIDATION_FAILED', 'FORBIDDEN', 'TENANT_NOT_FOUND', 'TENANT_UNINSTALLED', 'ATLASSIAN_ERROR', ...UPSTREAM_ERRORS],
      },
      async ({ query, apiKey }) => {
        await access.assertSite(apiKey, query.site);
        const tenant = await appTenant(query.site);
        if (!tenant.cloudId) throw new GatewayError('ATLASSIAN_UNAVAILABLE', `The cloud id of ${tenant.baseUrl} is not known yet.`);
        return { users: await deps.adminMapping.search(tenant, tenant.cloudId, query.q) };
      },
    ),
    op(
      {
        method: 'POST',
        path: '/v1/admin/mappings',
        auth: 'apiKey',
        operationId: 'mapUsers',
        tag: 'Admin mapping',
        summary: "Map accounts of a site to your users (route `admin`); each must exist on the site. Acting through them needs the site's policy to allow admin-mapped links.",
        body: S.MappingsBody,
        success: { status: 200, description: 'How many were mapped, and why the others were not.', schema: S.MappingsResult },
        errors: ['VALIDATION_FAILED', 'BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'FORBIDDEN', 'TENANT_NOT_FOUND', 'TENANT_UNINSTALLED', ...UPSTREAM_ERRORS],
      },
      async ({ body, apiKey }) => {
        await access.assertSite(apiKey, body.site);
        const tenant = await appTenant(body.site);
        if (!tenant.cloudId) throw new GatewayError('ATLASSIAN_UNAVAILABLE', `The cloud id of ${tenant.baseUrl} is not known yet.`);
        return deps.adminMapping.mapMany(tenant, tenant.cloudId, { id: apiKey.id, kind: 'api_key' }, body.mappings);
      },
    ),
    op(
      {
        method: 'POST',
        path: '/v1/tokens',
        auth: 'apiKey',
        operationId: 'getToken',
        tag: 'Acting',
        summary: 'A valid access token for one of your users (or an account, where policy allows) on a site, for apps that call Confluence themselves.',
        body: S.TokenBody,
        success: { status: 200, description: 'The token; send it only under `apiBaseUrl`.', schema: S.TokenResult },
        errors: ['VALIDATION_FAILED', 'BAD_REQUEST', ...ACTING_ERRORS, 'SCOPE_NOT_ALLOWED', 'INVALID_GRANT', ...UPSTREAM_ERRORS],
      },
      async ({ body, apiKey }) => {
        await access.assertSite(apiKey, body.site);
        const req = { site: body.site, ...(body.externalUserId ? { externalUserId: body.externalUserId } : {}), ...(body.accountId ? { accountId: body.accountId } : {}) };
        const t = await withLinkUrl(apiKey, req, () => acting.tokenFor({ ...req, ...(body.scopes ? { scopes: body.scopes } : {}) }));
        return { accessToken: t.accessToken, tokenType: t.tokenType, expiresAt: iso(t.expiresAt), apiBaseUrl: t.apiBaseUrl, route: t.route, scopes: t.scopes } satisfies S.TokenResultWire;
      },
    ),
    op(
      {
        method: 'GET',
        path: '/v1/events',
        auth: 'apiKey',
        operationId: 'listEvents',
        tag: 'Events',
        summary: 'The durable feed of link changes and captured webhooks, oldest first; poll with the last cursor.',
        query: S.EventsQuery,
        success: { status: 200, description: 'A page of events and the cursor to continue from.', schema: S.EventPage },
        errors: ['VALIDATION_FAILED'],
      },
      async ({ query, apiKey }) => {
        const after = Number(query.after);
        const rows = await repos.events.after(after, query.limit);
        const events: S.FeedEventWire[] = [];
        const linked = new Map<string, string | null>();
        for (const e of rows) {
          if (!(await access.allowsCloudId(apiKey, e.cloudId))) continue;
          let externalUserId = e.externalUserId;
          if (externalUserId === null && e.cloudId && e.accountId) {
            const k = `${e.cloudId}|${e.accountId}`;
            if (!linked.has(k)) {
              const l = await repos.links.liveForAccount(e.cloudId, e.accountId);
              linked.set(k, l && l.status === 'linked' ? l.externalUserId : null);
            }
            externalUserId = linked.get(k) ?? null;
          }
          events.push({ id: String(e.id), at: iso(e.at), type: e.type, cloudId: e.cloudId, accountId: e.accountId, externalUserId, data: e.data });
        }
        const last = rows[rows.length - 1];
        return { events, cursor: String(last ? last.id : after) } satisfies S.EventPageWire;
      },
    ),
  ];

  const proxyDoc =
    'Forwards the request (method, query, headers, body; streamed both ways) to the site\'s Confluence API as that user. ' +
    'The path after the site is relative to the site\'s API base (`/api/v2/pages`, `/rest/api/user/current`). Only the site\'s own API origin and base path are ever reached; ' +
    'redirects elsewhere are not followed; hop-by-hop, Authorization and Cookie headers are not passed; 429s are retried for idempotent requests, else passed back with their headers. ' +
    'Errors from the gateway itself use the error envelope; answers from Confluence pass through as they are.';
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    operations.push({
      method,
      path: `${PROXY_PREFIX}:externalUserId/:site/*`,
      auth: 'apiKey',
      operationId: `proxy${method[0]}${method.slice(1).toLowerCase()}`,
      tag: 'Acting',
      summary: `Proxy a ${method} to Confluence as one of your users.`,
      success: { status: 200, description: 'Confluence\'s answer, passed through (any status).', contentType: '*/*' },
      errors: [...ACTING_ERRORS, 'BAD_REQUEST', 'PAYLOAD_TOO_LARGE', ...UPSTREAM_ERRORS],
      openapi: { description: proxyDoc, pathOverride: '/v1/act/{externalUserId}/{site}/{apiPath}', anyBody: method !== 'GET' && method !== 'DELETE' },
      handler: proxyHandler,
    });
  }
  return operations;
}

/** The API's route table rows (auth `apiKey`, except the public OpenAPI document). */
export function apiRoutes(deps: ApiRoutesDeps, options: ApiRoutesOptions = {}): RouteDef[] {
  const operations = apiOperations(deps, options);
  let doc: OpenApiDocument | undefined;
  const rows: RouteDef[] = operations.map((o) => ({ method: o.method, path: o.path, auth: o.auth, handler: o.handler, summary: o.summary }));
  rows.push({
    method: 'GET',
    path: '/openapi.json',
    auth: 'public',
    summary: 'The OpenAPI 3.1 document of the /v1 API, generated from the schemas that validate requests.',
    handler: (c) => c.json((doc ??= buildOpenApi(operations, { version: options.version ?? '0.0.0' }))),
  });
  return rows;
}

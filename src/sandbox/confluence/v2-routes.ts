import type { Context, Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { SandboxEnv } from '../http/sandbox-env.js';
import { defineApiRoute } from './define-api-route.js';
import { decodeCursor, nextLink, parseLimit } from './pagination.js';
import { toV2Page, toV2Space, toV2User, v2Error, type WireContext } from './wire.js';
import { canReadPage, canReadSpace, canUpdatePage, canWriteSpace } from '../state/permissions.js';
import type { SandboxPage } from '../state/types.js';
import { readJson } from '../http/read-json.js';
import { principalApp } from '../auth/resolve-principal.js';

const MAX_BODY = 5 * 1024 * 1024;
const REPRESENTATIONS = ['storage', 'atlas_doc_format', 'wiki'] as const;

/** Confluence REST v2: pages (list/get/create/update), spaces, users-bulk. */
export function registerV2Routes(deps: SandboxDeps, app: Hono<SandboxEnv>): void {
  const { state } = deps;
  const wire = (c: Context<SandboxEnv>): WireContext => ({ base: c.get('apiBase'), state });
  const notFound = (c: Context<SandboxEnv>) => c.json(v2Error(404, 'NOT_FOUND', 'Not Found'), 404);
  const bad = (c: Context<SandboxEnv>, detail: string) => c.json(v2Error(400, 'INVALID_REQUEST_PARAMETER', 'Bad Request', detail), 400);

  const listPages = (c: Context<SandboxEnv>, pathAfterWiki: string, scope: (p: SandboxPage) => boolean): Response => {
    const site = c.get('site');
    const user = c.get('principal').user;
    const limit = parseLimit(c.req.query('limit'), 25, 250);
    const offset = decodeCursor(c.req.query('cursor'));
    if (limit === null) return bad(c, 'limit must be between 1 and 250');
    if (offset === null) return bad(c, 'cursor is invalid');
    const spaceIds = c.req.query('space-id')?.split(',').filter(Boolean);
    const title = c.req.query('title');
    const status = c.req.query('status')?.split(',') ?? ['current'];
    const bodyFormat = c.req.query('body-format') ?? null;
    const all = state
      .pagesOnSite(site.key)
      .filter(scope)
      .filter((p) => (spaceIds ? spaceIds.includes(p.spaceId) : true))
      .filter((p) => (title !== undefined ? p.title === title : true))
      .filter((p) => status.includes(p.status) || status.includes('any'))
      .filter((p) => canReadPage(state, user, p))
      .sort((a, b) => Number(a.id) - Number(b.id));
    const slice = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    const { next, linkHeader } = nextLink(c.get('apiBase'), pathAfterWiki, new URL(c.req.url).searchParams, more ? offset + limit : null);
    c.header('Link', linkHeader);
    const links: Record<string, string> = { base: c.get('apiBase') };
    if (next) links['next'] = next;
    return c.json({ results: slice.map((p) => toV2Page(p, wire(c), bodyFormat)), _links: links });
  };

  defineApiRoute(deps, app, 'GET', '/api/v2/pages', { connect: 'READ', oauth: ['read:page:confluence'] }, (c) => listPages(c, '/api/v2/pages', () => true));

  defineApiRoute(deps, app, 'GET', '/api/v2/spaces/:id/pages', { connect: 'READ', oauth: ['read:page:confluence'] }, (c) => {
    const space = state.spaces.get(c.req.param('id') ?? '');
    if (!space || space.siteKey !== c.get('site').key || !canReadSpace(c.get('principal').user, space)) return notFound(c);
    return listPages(c, `/api/v2/spaces/${space.id}/pages`, (p) => p.spaceId === space.id);
  });

  defineApiRoute(deps, app, 'GET', '/api/v2/pages/:id/children', { connect: 'READ', oauth: ['read:page:confluence'] }, (c) => {
    const parent = state.pages.get(c.req.param('id') ?? '');
    if (!parent || parent.siteKey !== c.get('site').key || !canReadPage(state, c.get('principal').user, parent)) return notFound(c);
    return listPages(c, `/api/v2/pages/${parent.id}/children`, (p) => p.parentId === parent.id);
  });

  defineApiRoute(deps, app, 'GET', '/api/v2/pages/:id', { connect: 'READ', oauth: ['read:page:confluence'] }, (c) => {
    const page = state.pages.get(c.req.param('id') ?? '');
    const user = c.get('principal').user;
    if (!page || page.siteKey !== c.get('site').key || !canReadPage(state, user, page)) return notFound(c);
    return c.json(toV2Page(page, wire(c), c.req.query('body-format') ?? null));
  });

  defineApiRoute(deps, app, 'POST', '/api/v2/pages', { connect: 'WRITE', oauth: ['write:page:confluence'] }, async (c) => {
    const parsed = await readJson(c, MAX_BODY);
    if (!parsed.ok) return c.json(v2Error(parsed.status, parsed.status === 413 ? 'REQUEST_ENTITY_TOO_LARGE' : 'INVALID_REQUEST_PARAMETER', parsed.message), parsed.status);
    const body = parsed.value as Record<string, unknown>;
    const user = c.get('principal').user;
    const site = c.get('site');
    const spaceId = body['spaceId'];
    const status = body['status'] ?? 'current';
    const title = body['title'];
    if (typeof spaceId !== 'string' && typeof spaceId !== 'number') return bad(c, 'spaceId is required');
    if (status !== 'current' && status !== 'draft') return bad(c, 'status must be current or draft');
    if (status !== 'draft' && (typeof title !== 'string' || title.trim() === '')) return bad(c, 'title is required');
    const b = (body['body'] ?? { representation: 'storage', value: '' }) as Record<string, unknown>;
    const representation = b['representation'];
    if (!REPRESENTATIONS.includes(representation as (typeof REPRESENTATIONS)[number]) || typeof b['value'] !== 'string') {
      return bad(c, 'body.representation must be storage, atlas_doc_format or wiki, with a string value');
    }
    const space = state.spaces.get(String(spaceId));
    if (!space || space.siteKey !== site.key || !canReadSpace(user, space) || !canWriteSpace(user, space)) return notFound(c);
    const rootLevel = c.req.query('root-level') === 'true';
    let parentId: string | null = rootLevel ? null : space.homepageId;
    if (body['parentId'] !== undefined && body['parentId'] !== null) {
      const parent = state.pages.get(String(body['parentId']));
      if (!parent || parent.spaceId !== space.id || !canReadPage(state, user, parent)) return notFound(c);
      parentId = parent.id;
    }
    if (typeof title === 'string' && state.pagesOnSite(site.key).some((p) => p.spaceId === space.id && p.title === title && p.status === 'current')) {
      return c.json(v2Error(400, 'INVALID_REQUEST_PARAMETER', 'Bad Request', 'A page with this title already exists'), 400);
    }
    const page = state.createPage({
      siteKey: site.key,
      spaceId: space.id,
      title: typeof title === 'string' ? title : '',
      body: { representation: representation as SandboxPage['body']['representation'], value: b['value'] as string },
      authorId: user.accountId,
      createdVia: principalApp(c.get('principal')),
      parentId,
      status: status as SandboxPage['status'],
      restrictions: c.req.query('private') === 'true' ? { read: { users: [user.accountId], groups: [] }, update: { users: [user.accountId], groups: [] } } : undefined,
    });
    if (page.status === 'current') deps.pageEvents.emit({ event: 'page_created', page, actor: user, updateTrigger: 'create_page' });
    return c.json(toV2Page(page, wire(c), page.body.representation));
  });

  defineApiRoute(deps, app, 'PUT', '/api/v2/pages/:id', { connect: 'WRITE', oauth: ['write:page:confluence'] }, async (c) => {
    const page = state.pages.get(c.req.param('id') ?? '');
    const user = c.get('principal').user;
    if (!page || page.siteKey !== c.get('site').key || !canReadPage(state, user, page)) return notFound(c);
    const parsed = await readJson(c, MAX_BODY);
    if (!parsed.ok) return c.json(v2Error(parsed.status, 'INVALID_REQUEST_PARAMETER', parsed.message), parsed.status);
    const body = parsed.value as Record<string, unknown>;
    if (!canUpdatePage(state, user, page)) return c.json(v2Error(403, 'FORBIDDEN', 'Forbidden', 'You do not have permission to edit this page'), 403);
    if (body['id'] !== undefined && String(body['id']) !== page.id) return bad(c, 'id in body does not match the path');
    const version = body['version'] as Record<string, unknown> | undefined;
    if (!version || typeof version['number'] !== 'number') return bad(c, 'version.number is required');
    if (version['number'] !== page.version.number + 1) {
      return c.json(v2Error(409, 'CONFLICT', 'Conflict', `Version must be ${page.version.number + 1}, the current version plus one`), 409);
    }
    const title = body['title'];
    if (typeof title !== 'string' || title.trim() === '') return bad(c, 'title is required');
    const status = body['status'] ?? 'current';
    if (status !== 'current' && status !== 'draft' && status !== 'archived') return bad(c, 'status is invalid');
    const b = body['body'] as Record<string, unknown> | undefined;
    if (b !== undefined) {
      if (!REPRESENTATIONS.includes(b['representation'] as (typeof REPRESENTATIONS)[number]) || typeof b['value'] !== 'string') return bad(c, 'body is invalid');
      page.body = { representation: b['representation'] as SandboxPage['body']['representation'], value: b['value'] };
    }
    page.title = title;
    page.status = status as SandboxPage['status'];
    page.version = {
      number: page.version.number + 1,
      createdAt: deps.clock.now(),
      message: typeof version['message'] === 'string' ? version['message'] : '',
      minorEdit: version['minorEdit'] === true,
      authorId: user.accountId,
    };
    deps.pageEvents.emit({ event: 'page_updated', page, actor: user, updateTrigger: 'edit_page' });
    return c.json(toV2Page(page, wire(c), page.body.representation));
  });

  defineApiRoute(deps, app, 'DELETE', '/api/v2/pages/:id', { connect: 'DELETE', oauth: ['delete:page:confluence'] }, (c) => {
    const page = state.pages.get(c.req.param('id') ?? '');
    const user = c.get('principal').user;
    if (!page || page.siteKey !== c.get('site').key || !canReadPage(state, user, page)) return notFound(c);
    if (!canUpdatePage(state, user, page)) return c.json(v2Error(403, 'FORBIDDEN', 'Forbidden', 'You do not have permission to delete this page'), 403);
    const purge = c.req.query('purge') === 'true';
    if (purge) {
      if (page.status !== 'trashed') return bad(c, 'Only trashed pages can be purged');
      state.pages.delete(page.id);
      deps.pageEvents.emit({ event: 'page_removed', page, actor: user, updateTrigger: 'purge_page' });
    } else {
      if (page.status === 'trashed') return notFound(c);
      page.status = 'trashed';
      deps.pageEvents.emit({ event: 'page_trashed', page, actor: user, updateTrigger: 'trash_page' });
    }
    return c.body(null, 204);
  });

  defineApiRoute(deps, app, 'GET', '/api/v2/spaces', { connect: 'READ', oauth: ['read:space:confluence'] }, (c) => {
    const user = c.get('principal').user;
    const limit = parseLimit(c.req.query('limit'), 25, 250);
    const offset = decodeCursor(c.req.query('cursor'));
    if (limit === null || offset === null) return bad(c, 'limit or cursor is invalid');
    const keys = c.req.query('keys')?.split(',');
    const all = state
      .spacesOnSite(c.get('site').key)
      .filter((s) => (keys ? keys.includes(s.key) : true))
      .filter((s) => canReadSpace(user, s))
      .sort((a, b) => Number(a.id) - Number(b.id));
    const slice = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    const { next, linkHeader } = nextLink(c.get('apiBase'), '/api/v2/spaces', new URL(c.req.url).searchParams, more ? offset + limit : null);
    c.header('Link', linkHeader);
    const links: Record<string, string> = { base: c.get('apiBase') };
    if (next) links['next'] = next;
    return c.json({ results: slice.map((s) => toV2Space(s, wire(c))), _links: links });
  });

  defineApiRoute(deps, app, 'GET', '/api/v2/spaces/:id', { connect: 'READ', oauth: ['read:space:confluence'] }, (c) => {
    const space = state.spaces.get(c.req.param('id') ?? '');
    if (!space || space.siteKey !== c.get('site').key || !canReadSpace(c.get('principal').user, space)) return notFound(c);
    return c.json(toV2Space(space, wire(c)));
  });

  defineApiRoute(deps, app, 'POST', '/api/v2/users-bulk', { connect: 'READ', oauth: ['read:user:confluence'] }, async (c) => {
    const parsed = await readJson(c, MAX_BODY);
    if (!parsed.ok) return c.json(v2Error(parsed.status, 'INVALID_REQUEST_PARAMETER', parsed.message), parsed.status);
    const ids = (parsed.value as { accountIds?: unknown }).accountIds;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 250 || !ids.every((x) => typeof x === 'string')) return bad(c, 'accountIds: 1 to 250 account IDs');
    const site = c.get('site').key;
    const results = (ids as string[]).map((id) => state.userOnSite(id, site)).filter((u) => u !== undefined).map((u) => toV2User(u));
    return c.json({ results, _links: { base: c.get('apiBase') } });
  });
}

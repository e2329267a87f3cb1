import type { Context, Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { SandboxEnv } from '../http/sandbox-env.js';
import { defineApiRoute } from './define-api-route.js';
import { toV1Content, toV1Space, v1Error, type WireContext } from './wire.js';
import { canReadPage, canReadSpace, canUpdatePage, canWriteSpace } from '../state/permissions.js';
import { readJson } from '../http/read-json.js';
import { principalApp } from '../auth/resolve-principal.js';

const MAX_BODY = 5_242_880;
const READ = ['read:confluence-content.summary', 'read:confluence-content.all'];
const WRITE = ['write:confluence-content'];

/** Confluence REST v1 content: list, get, create, update. `version.by` and `history.createdBy` are full users. */
export function registerV1ContentRoutes(deps: SandboxDeps, app: Hono<SandboxEnv>): void {
  const { state } = deps;
  const wire = (c: Context<SandboxEnv>): WireContext => ({ base: c.get('apiBase'), state });
  const expandOf = (c: Context<SandboxEnv>): Set<string> => new Set((c.req.query('expand') ?? '').split(',').filter(Boolean));
  const notFound = (c: Context<SandboxEnv>, id: string) => c.json(v1Error(404, `No content found with id: ContentId{id=${id}}`), 404);

  defineApiRoute(deps, app, 'GET', '/rest/api/content', { connect: 'READ', oauth: READ }, (c) => {
    const user = c.get('principal').user;
    const spaceKey = c.req.query('spaceKey');
    const title = c.req.query('title');
    const type = c.req.query('type') ?? 'page';
    const start = Math.max(0, Number(c.req.query('start') ?? 0) || 0);
    const limit = Math.min(200, Math.max(1, Number(c.req.query('limit') ?? 25) || 25));
    if (type !== 'page') return c.json({ results: [], start, limit, size: 0, _links: { base: c.get('apiBase'), context: '/wiki' } });
    const all = state
      .pagesOnSite(c.get('site').key)
      .filter((p) => p.status === 'current')
      .filter((p) => (spaceKey ? state.spaces.get(p.spaceId)?.key === spaceKey : true))
      .filter((p) => (title !== undefined ? p.title === title : true))
      .filter((p) => canReadPage(state, user, p))
      .sort((a, b) => Number(a.id) - Number(b.id));
    const slice = all.slice(start, start + limit);
    const links: Record<string, string> = { base: c.get('apiBase'), context: '/wiki', self: `${c.get('apiBase')}/rest/api/content` };
    if (start + limit < all.length) {
      const p = new URLSearchParams(new URL(c.req.url).searchParams);
      p.set('start', String(start + limit));
      p.set('limit', String(limit));
      links['next'] = `/rest/api/content?${p.toString()}`;
    }
    return c.json({ results: slice.map((p) => toV1Content(p, wire(c), expandOf(c))), start, limit, size: slice.length, _links: links });
  });

  defineApiRoute(deps, app, 'GET', '/rest/api/content/:id', { connect: 'READ', oauth: READ }, (c) => {
    const id = c.req.param('id') ?? '';
    const page = state.pages.get(id);
    if (!page || page.siteKey !== c.get('site').key || !canReadPage(state, c.get('principal').user, page)) return notFound(c, id);
    return c.json(toV1Content(page, wire(c), expandOf(c)));
  });

  defineApiRoute(deps, app, 'GET', '/rest/api/content/:id/child/page', { connect: 'READ', oauth: READ }, (c) => {
    const id = c.req.param('id') ?? '';
    const user = c.get('principal').user;
    const parent = state.pages.get(id);
    if (!parent || parent.siteKey !== c.get('site').key || !canReadPage(state, user, parent)) return notFound(c, id);
    const start = Math.max(0, Number(c.req.query('start') ?? 0) || 0);
    const limit = Math.min(200, Math.max(1, Number(c.req.query('limit') ?? 25) || 25));
    const all = state
      .pagesOnSite(parent.siteKey)
      .filter((p) => p.parentId === parent.id && p.status === 'current' && canReadPage(state, user, p))
      .sort((a, b) => a.position - b.position || Number(a.id) - Number(b.id));
    const slice = all.slice(start, start + limit);
    const links: Record<string, string> = { base: c.get('apiBase'), context: '/wiki' };
    if (start + limit < all.length) links['next'] = `/rest/api/content/${parent.id}/child/page?start=${start + limit}&limit=${limit}`;
    return c.json({ results: slice.map((p) => toV1Content(p, wire(c), expandOf(c))), start, limit, size: slice.length, _links: links });
  });

  defineApiRoute(deps, app, 'GET', '/rest/api/space', { connect: 'READ', oauth: ['read:confluence-space.summary'] }, (c) => {
    const user = c.get('principal').user;
    const keys = (c.req.queries('spaceKey') ?? []).flatMap((k) => k.split(',')).filter(Boolean);
    const start = Math.max(0, Number(c.req.query('start') ?? 0) || 0);
    const limit = Math.min(250, Math.max(1, Number(c.req.query('limit') ?? 25) || 25));
    const all = state
      .spacesOnSite(c.get('site').key)
      .filter((s) => (keys.length > 0 ? keys.includes(s.key) : true))
      .filter((s) => canReadSpace(user, s))
      .sort((a, b) => Number(a.id) - Number(b.id));
    const slice = all.slice(start, start + limit);
    const links: Record<string, string> = { base: c.get('apiBase'), context: '/wiki' };
    if (start + limit < all.length) links['next'] = `/rest/api/space?start=${start + limit}&limit=${limit}`;
    return c.json({ results: slice.map((s) => toV1Space(s, wire(c))), start, limit, size: slice.length, _links: links });
  });

  defineApiRoute(deps, app, 'GET', '/rest/api/space/:key', { connect: 'READ', oauth: ['read:confluence-space.summary'] }, (c) => {
    const key = c.req.param('key') ?? '';
    const space = state.spaceByKey(c.get('site').key, key);
    if (!space || !canReadSpace(c.get('principal').user, space)) return c.json(v1Error(404, `No space with key : ${key}`), 404);
    return c.json(toV1Space(space, wire(c)));
  });

  defineApiRoute(deps, app, 'POST', '/rest/api/content', { connect: 'WRITE', oauth: WRITE }, async (c) => {
    const parsed = await readJson(c, MAX_BODY);
    if (!parsed.ok) return c.json(v1Error(parsed.status, parsed.message), parsed.status);
    const body = parsed.value as Record<string, unknown>;
    const user = c.get('principal').user;
    if (body['type'] !== 'page') return c.json(v1Error(400, 'The sandbox only supports type "page"'), 400);
    const title = body['title'];
    if (typeof title !== 'string' || title.trim() === '') return c.json(v1Error(400, 'Title is required'), 400);
    const spaceKey = (body['space'] as { key?: unknown } | undefined)?.key;
    const space = typeof spaceKey === 'string' ? state.spaceByKey(c.get('site').key, spaceKey) : undefined;
    if (!space || !canReadSpace(user, space)) return c.json(v1Error(404, `No space with key : ${String(spaceKey)}`), 404);
    if (!canWriteSpace(user, space)) return c.json(v1Error(403, 'Not permitted to create content in this space'), 403);
    const ancestors = body['ancestors'];
    let parentId = space.homepageId;
    if (Array.isArray(ancestors) && ancestors.length > 0) {
      const last = ancestors[ancestors.length - 1] as { id?: unknown };
      const parent = state.pages.get(String(last.id));
      if (!parent || parent.spaceId !== space.id || !canReadPage(state, user, parent)) return c.json(v1Error(404, 'Parent page not found'), 404);
      parentId = parent.id;
    }
    const storage = (body['body'] as { storage?: { value?: unknown } } | undefined)?.storage;
    if (state.pagesOnSite(space.siteKey).some((p) => p.spaceId === space.id && p.title === title && p.status === 'current')) {
      return c.json(v1Error(400, 'A page with this title already exists: A page already exists with the same TITLE in this space'), 400);
    }
    const page = state.createPage({
      siteKey: space.siteKey,
      spaceId: space.id,
      title,
      body: { representation: 'storage', value: typeof storage?.value === 'string' ? storage.value : '' },
      authorId: user.accountId,
      createdVia: principalApp(c.get('principal')),
      parentId,
    });
    deps.pageEvents.emit({ event: 'page_created', page, actor: user, updateTrigger: 'create_page' });
    return c.json(toV1Content(page, wire(c), new Set(['ancestors', 'body.storage'])));
  });

  defineApiRoute(deps, app, 'PUT', '/rest/api/content/:id', { connect: 'WRITE', oauth: WRITE }, async (c) => {
    const id = c.req.param('id') ?? '';
    const page = state.pages.get(id);
    const user = c.get('principal').user;
    if (!page || page.siteKey !== c.get('site').key || !canReadPage(state, user, page)) return notFound(c, id);
    const parsed = await readJson(c, MAX_BODY);
    if (!parsed.ok) return c.json(v1Error(parsed.status, parsed.message), parsed.status);
    const body = parsed.value as Record<string, unknown>;
    if (!canUpdatePage(state, user, page)) return c.json(v1Error(403, 'Not permitted to update this content'), 403);
    const version = body['version'] as { number?: unknown; message?: unknown; minorEdit?: unknown } | undefined;
    if (typeof version?.number !== 'number') return c.json(v1Error(400, 'version.number is required'), 400);
    if (version.number !== page.version.number + 1) {
      return c.json(v1Error(409, `Version must be incremented on update. Current version is: ${page.version.number}`), 409);
    }
    if (typeof body['title'] === 'string' && body['title'].trim() !== '') page.title = body['title'];
    const storage = (body['body'] as { storage?: { value?: unknown } } | undefined)?.storage;
    if (typeof storage?.value === 'string') page.body = { representation: 'storage', value: storage.value };
    page.version = {
      number: version.number,
      createdAt: deps.clock.now(),
      message: typeof version.message === 'string' ? version.message : '',
      minorEdit: version.minorEdit === true,
      authorId: user.accountId,
    };
    deps.pageEvents.emit({ event: 'page_updated', page, actor: user, updateTrigger: 'edit_page' });
    return c.json(toV1Content(page, wire(c), new Set(['body.storage'])));
  });
}

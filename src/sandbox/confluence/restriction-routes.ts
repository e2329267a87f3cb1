import type { Context, Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { SandboxEnv } from '../http/sandbox-env.js';
import { defineApiRoute } from './define-api-route.js';
import { toV1User, v1Error, type WireContext } from './wire.js';
import { canReadPage, canUpdatePage } from '../state/permissions.js';
import type { PrincipalSet, SandboxPage } from '../state/types.js';
import { readJson } from '../http/read-json.js';

/** v1 content restrictions (GET/PUT `/rest/api/content/{id}/restriction`), read and update only. */
export function registerRestrictionRoutes(deps: SandboxDeps, app: Hono<SandboxEnv>): void {
  const { state } = deps;
  const wire = (c: Context<SandboxEnv>): WireContext => ({ base: c.get('apiBase'), state });

  const render = (c: Context<SandboxEnv>, page: SandboxPage) => {
    const op = (operation: 'read' | 'update', set: PrincipalSet) => ({
      operation,
      restrictions: {
        user: { results: set.users.map((id) => state.users.get(id)).filter((u) => u !== undefined).map((u) => toV1User(u, wire(c))), start: 0, limit: 200, size: set.users.length },
        group: { results: set.groups.map((name) => ({ type: 'group', name })), start: 0, limit: 200, size: set.groups.length },
      },
      content: { id: page.id, type: 'page', status: page.status, title: page.title },
      _links: { self: `${c.get('apiBase')}/rest/api/content/${page.id}/restriction/byOperation/${operation}` },
    });
    const results = [op('read', page.restrictions.read), op('update', page.restrictions.update)];
    return c.json({ results, start: 0, limit: 100, size: results.length, restrictionsHash: String(page.version.number), _links: { base: c.get('apiBase'), context: '/wiki' } });
  };

  const load = (c: Context<SandboxEnv>): SandboxPage | null => {
    const page = state.pages.get(c.req.param('id') ?? '');
    if (!page || page.siteKey !== c.get('site').key || !canReadPage(state, c.get('principal').user, page)) return null;
    return page;
  };

  defineApiRoute(deps, app, 'GET', '/rest/api/content/:id/restriction', { connect: 'READ', oauth: ['read:confluence-content.all'] }, (c) => {
    const page = load(c);
    if (!page) return c.json(v1Error(404, 'No content found'), 404);
    return render(c, page);
  });

  defineApiRoute(deps, app, 'PUT', '/rest/api/content/:id/restriction', { connect: 'WRITE', oauth: ['write:confluence-content'] }, async (c) => {
    const page = load(c);
    if (!page) return c.json(v1Error(404, 'No content found'), 404);
    if (!canUpdatePage(state, c.get('principal').user, page)) return c.json(v1Error(403, 'Not permitted to change restrictions'), 403);
    const parsed = await readJson(c, 1_000_000);
    if (!parsed.ok) return c.json(v1Error(parsed.status, parsed.message), parsed.status);
    const list = Array.isArray(parsed.value) ? parsed.value : (parsed.value as { results?: unknown }).results;
    if (!Array.isArray(list)) return c.json(v1Error(400, 'Body must be an array of {operation, restrictions}'), 400);
    const next = { read: { users: [] as string[], groups: [] as string[] }, update: { users: [] as string[], groups: [] as string[] } };
    for (const item of list as Record<string, unknown>[]) {
      const operation = item['operation'];
      if (operation !== 'read' && operation !== 'update') return c.json(v1Error(400, `Unsupported operation: ${String(operation)}`), 400);
      const r = (item['restrictions'] ?? {}) as { user?: unknown; group?: unknown };
      const users = Array.isArray(r.user) ? r.user : ((r.user as { results?: unknown[] } | undefined)?.results ?? []);
      const groups = Array.isArray(r.group) ? r.group : ((r.group as { results?: unknown[] } | undefined)?.results ?? []);
      for (const u of users as { accountId?: unknown }[]) {
        if (typeof u.accountId !== 'string' || !state.userOnSite(u.accountId, page.siteKey)) return c.json(v1Error(400, `Unknown user: ${String(u.accountId)}`), 400);
        next[operation].users.push(u.accountId);
      }
      for (const g of groups as { name?: unknown }[]) {
        if (typeof g.name !== 'string') return c.json(v1Error(400, 'group.name is required'), 400);
        next[operation].groups.push(g.name);
      }
    }
    page.restrictions = next;
    return render(c, page);
  });
}

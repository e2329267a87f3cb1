import type { Context, Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { SandboxEnv } from '../http/sandbox-env.js';
import { defineApiRoute } from './define-api-route.js';
import { iso, v2Error } from './wire.js';
import { canReadPage, canReadSpace } from '../state/permissions.js';
import type { SandboxComment } from '../state/types.js';
import { readJson } from '../http/read-json.js';
import { decodeCursor, nextLink, parseLimit } from './pagination.js';

const REPRESENTATIONS = ['storage', 'atlas_doc_format', 'wiki'] as const;

/** v2 footer comments on pages: list and create (as the acting user), with `comment_created` webhooks. */
export function registerCommentRoutes(deps: SandboxDeps, app: Hono<SandboxEnv>): void {
  const { state } = deps;
  const toWire = (cm: SandboxComment, bodyFormat: string | null, base: string): Record<string, unknown> => {
    const page = state.pages.get(cm.pageId);
    return {
      id: cm.id,
      status: 'current',
      title: `Re: ${page?.title ?? ''}`,
      pageId: cm.pageId,
      version: { createdAt: iso(cm.version.createdAt), message: '', number: cm.version.number, minorEdit: false, authorId: cm.version.authorId },
      body: bodyFormat === 'storage' || bodyFormat === 'atlas_doc_format' ? { [bodyFormat]: { representation: bodyFormat, value: cm.body.value } } : {},
      _links: { webui: `/pages/${cm.pageId}?focusedCommentId=${cm.id}`, base },
    };
  };
  const notFound = (c: Context<SandboxEnv>) => c.json(v2Error(404, 'NOT_FOUND', 'Not Found'), 404);

  defineApiRoute(deps, app, 'GET', '/api/v2/pages/:id/footer-comments', { connect: 'READ', oauth: ['read:comment:confluence'] }, (c) => {
    const page = state.pages.get(c.req.param('id') ?? '');
    if (!page || page.siteKey !== c.get('site').key || !canReadPage(state, c.get('principal').user, page)) return notFound(c);
    const limit = parseLimit(c.req.query('limit'), 25, 250);
    const offset = decodeCursor(c.req.query('cursor'));
    if (limit === null || offset === null) return c.json(v2Error(400, 'INVALID_REQUEST_PARAMETER', 'Bad Request', 'limit or cursor is invalid'), 400);
    const all = [...state.comments.values()].filter((cm) => cm.pageId === page.id).sort((a, b) => Number(a.id) - Number(b.id));
    const slice = all.slice(offset, offset + limit);
    const { next, linkHeader } = nextLink(c.get('apiBase'), `/api/v2/pages/${page.id}/footer-comments`, new URL(c.req.url).searchParams, offset + limit < all.length ? offset + limit : null);
    c.header('Link', linkHeader);
    const links: Record<string, string> = { base: c.get('apiBase') };
    if (next) links['next'] = next;
    return c.json({ results: slice.map((cm) => toWire(cm, c.req.query('body-format') ?? null, c.get('apiBase'))), _links: links });
  });

  defineApiRoute(deps, app, 'POST', '/api/v2/footer-comments', { connect: 'WRITE', oauth: ['write:comment:confluence'] }, async (c) => {
    const parsed = await readJson(c, 5 * 1024 * 1024);
    if (!parsed.ok) return c.json(v2Error(parsed.status, 'INVALID_REQUEST_PARAMETER', parsed.message), parsed.status);
    const body = parsed.value as { pageId?: unknown; body?: { representation?: unknown; value?: unknown } };
    const user = c.get('principal').user;
    if (typeof body.pageId !== 'string' && typeof body.pageId !== 'number') return c.json(v2Error(400, 'INVALID_REQUEST_PARAMETER', 'Bad Request', 'pageId is required'), 400);
    const representation = body.body?.representation;
    if (!REPRESENTATIONS.includes(representation as (typeof REPRESENTATIONS)[number]) || typeof body.body?.value !== 'string') {
      return c.json(v2Error(400, 'INVALID_REQUEST_PARAMETER', 'Bad Request', 'body.representation and body.value are required'), 400);
    }
    const page = state.pages.get(String(body.pageId));
    const space = page ? state.spaces.get(page.spaceId) : undefined;
    // Commenting needs read access to the page and to its space [I: no separate comment permission].
    if (!page || !space || page.siteKey !== c.get('site').key || !canReadPage(state, user, page) || !canReadSpace(user, space)) return notFound(c);
    const now = deps.clock.now();
    const cm: SandboxComment = {
      id: state.nextId(),
      siteKey: page.siteKey,
      pageId: page.id,
      authorId: user.accountId,
      createdAt: now,
      body: { representation: representation as SandboxComment['body']['representation'], value: body.body.value },
      version: { number: 1, createdAt: now, message: '', minorEdit: false, authorId: user.accountId },
    };
    state.comments.set(cm.id, cm);
    deps.pageEvents.emit({ event: 'comment_created', page, actor: user, updateTrigger: 'create_comment', comment: cm });
    return c.json(toWire(cm, representation as string, c.get('apiBase')));
  });
}

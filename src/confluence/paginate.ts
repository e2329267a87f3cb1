import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import type { ActAsClient } from './create-act-as-client.js';
import { processConfluenceResponse, unexpectedShape } from './process-confluence-response.js';

/** Confluence Cloud's context path: `_links.next` of v2 (and the `Link` header) start with it. */
const DEFAULT_CONTEXT = '/wiki';

/** The URL of `rel` in an RFC 8288 `Link` header (`<url>; rel="next", <url>; rel="base"`), or undefined. */
export function linkHeaderUrl(header: string | null, rel: string): string | undefined {
  if (header === null) return undefined;
  for (const m of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]*(?:"[^"]*")?[^;,]*)*)/g)) {
    const params = m[2] ?? '';
    const relParam = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
    const rels = (relParam?.[1] ?? relParam?.[2] ?? '').toLowerCase().split(/\s+/);
    if (rels.includes(rel.toLowerCase())) return m[1];
  }
  return undefined;
}

/**
 * Turns a next link into what `client.fetch` takes. Absolute URLs pass unchanged (the client checks
 * their origin and path). A link that starts with the context path (`/wiki/api/v2/pages?cursor=…`, as v2
 * sends it) loses that prefix, so it lands under the API base whatever the base is
 * (`https://x.atlassian.net/wiki` or `https://api.atlassian.com/ex/confluence/<id>/wiki`) without a doubled
 * `/wiki`. Anything else (`/rest/api/content?start=25`, as v1 sends it relative to `_links.context`) is
 * already relative to the API base.
 */
export function resolveNextLink(next: string, context: string = DEFAULT_CONTEXT): string {
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(next) || next.startsWith('//')) return next;
  const rel = next.startsWith('/') ? next : `/${next}`;
  const ctx = context.replace(/\/+$/, '');
  if (ctx !== '' && (rel === ctx || rel.startsWith(`${ctx}/`) || rel.startsWith(`${ctx}?`))) {
    const rest = rel.slice(ctx.length);
    return rest.startsWith('/') ? rest : `/${rest}`;
  }
  return rel;
}

export interface PaginateOptions {
  /** The array of items in each page (default `results`). */
  itemsKey?: string;
  signal?: AbortSignal;
  headers?: RequestInit['headers'];
  /** Lets a RATE_LIMITED error carry `retryAfterMs` (Retry-After may be an HTTP date). */
  clock?: Clock;
}

/**
 * Iterates over the items of a paged Confluence list, page by page, as they are consumed.
 * - v2 (cursor): follows `Link: <…>; rel="next"`, else `_links.next`.
 * - v1 (`start`/`limit`): follows `_links.next` (relative to `_links.context`).
 * Stops when there is no next link. `size < limit` is not taken as the end: Confluence filters results by
 * permission after paging, so a short page can be followed by more. A next link already visited stops
 * the iteration with ATLASSIAN_ERROR (reason `pagination_loop`) instead of looping forever.
 * A non-2xx page throws the `confluenceError` (after the client's own retries).
 */
export async function* paginate<T = unknown>(client: Pick<ActAsClient, 'fetch'>, path: string, options: PaginateOptions = {}): AsyncGenerator<T, void, undefined> {
  const itemsKey = options.itemsKey ?? 'results';
  const seen = new Set<string>();
  let current: string | undefined = path;
  let page = 0;
  while (current !== undefined) {
    seen.add(current);
    page += 1;
    const what = `GET ${path.split('?')[0]} (page ${page})`;
    const init: RequestInit = { method: 'GET' };
    if (options.signal) init.signal = options.signal;
    if (options.headers) init.headers = options.headers;
    const response = await client.fetch(current, init);
    const linkNext = linkHeaderUrl(response.headers.get('link'), 'next');
    const body = await processConfluenceResponse(response, what, options.clock);
    if (typeof body !== 'object' || body === null) throw unexpectedShape(what, 'body');
    const items = (body as Record<string, unknown>)[itemsKey];
    if (!Array.isArray(items)) throw unexpectedShape(what, itemsKey);
    for (const item of items) yield item as T;

    const links = (body as { _links?: unknown })._links;
    const l = typeof links === 'object' && links !== null ? (links as Record<string, unknown>) : {};
    const bodyNext = typeof l['next'] === 'string' && l['next'] !== '' ? l['next'] : undefined;
    const context = typeof l['context'] === 'string' ? l['context'] : DEFAULT_CONTEXT;
    const next = linkNext ?? bodyNext;
    if (next === undefined) return;
    current = resolveNextLink(next, linkNext !== undefined ? DEFAULT_CONTEXT : context);
    if (seen.has(current)) {
      throw new GatewayError('ATLASSIAN_ERROR', `Confluence pagination of ${path.split('?')[0]} repeated a next link after ${page} page(s); stopped.`, {
        details: { reason: 'pagination_loop', pages: page },
      });
    }
  }
}

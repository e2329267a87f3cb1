/** Opaque v2 cursors (base64url JSON of an offset) and the `Link` header with `rel="next"` and `rel="base"`. */

export function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): number | null {
  if (cursor === undefined || cursor === '') return 0;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof v === 'object' && v !== null && typeof (v as { o?: unknown }).o === 'number' && (v as { o: number }).o >= 0) return (v as { o: number }).o;
  } catch {
    // fall through
  }
  return null;
}

export function parseLimit(raw: string | undefined, def: number, max: number): number | null {
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) return null;
  const n = Number(raw);
  if (n < 1) return null;
  return Math.min(n, max);
}

/**
 * Builds `_links.next` (relative, starting at `/wiki`, as Confluence sends it) and the `Link` header.
 * Join `next` onto the base URL without its trailing `/wiki`.
 */
export function nextLink(base: string, pathAfterWiki: string, params: URLSearchParams, nextOffset: number | null): { next: string | null; linkHeader: string } {
  if (nextOffset === null) return { next: null, linkHeader: `<${base}>; rel="base"` };
  const p = new URLSearchParams(params);
  p.delete('cursor');
  p.set('cursor', encodeCursor(nextOffset));
  const next = `/wiki${pathAfterWiki}?${p.toString()}`;
  return { next, linkHeader: `<${next}>; rel="next", <${base}>; rel="base"` };
}

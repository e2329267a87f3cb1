import { createHash } from 'node:crypto';

/**
 * The Atlassian Connect canonical request and query-string hash (qsh), protocol doc §1.3.
 *
 *   qsh = lowercase-hex(SHA-256(UTF-8(METHOD "&" canonical-URI "&" canonical-query)))
 *
 * Works on the raw request text. The path is hashed exactly as it travelled on the wire (no decoding, no
 * re-encoding, and never Node's legacy `url.parse`, which rewrites `'` to `%27` and breaks the official
 * "BasePath RFC3986 Subdelimiters" vector).
 */

/** Decoded query parameters, in wire order; repeated keys are repeated entries. */
export type QueryEntries = ReadonlyArray<readonly [string, string]>;

/** A raw query string as on the wire (with or without the leading `?`), or already-decoded entries. */
export type QueryInput = string | QueryEntries;

export interface CanonicalRequestInput {
  /** HTTP method, any case. */
  method: string;
  /** Raw path as on the wire (percent-encoding untouched), without query or fragment. */
  pathname: string;
  /** Raw query string or decoded entries. The `jwt` parameter is always ignored. */
  query?: QueryInput | undefined;
  /**
   * Path prefix to strip: the product's base path (`/wiki` for Confluence) for app→product calls, or the
   * path of the app's descriptor `baseUrl` for product→app calls. `''` or `'/'` means none. A whole base
   * URL is accepted too; only its path is used.
   */
  contextPath?: string | undefined;
}

/** RFC 3986 percent-encoding with upper-case hex: only `A–Z a–z 0–9 - . _ ~` stay literal. */
export function encodeRfc3986(value: string): string {
  // encodeURIComponent leaves !'()* alone; RFC 3986 (and Atlassian) encode them.
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Parses a raw query string the way a form decoder does: `+` is a space, percent-escapes are UTF-8.
 * URLSearchParams implements exactly the WHATWG application/x-www-form-urlencoded parser.
 */
export function parseQueryString(raw: string): QueryEntries {
  // URLSearchParams drops one leading `?` itself; dropping one here too would eat the `?` of a key such
  // as `?a` in `/p??a=1` and leave that key outside the qsh as Atlassian computes it.
  return [...new URLSearchParams(raw)];
}

function toEntries(query: QueryInput | undefined): QueryEntries {
  if (query === undefined) return [];
  return typeof query === 'string' ? parseQueryString(query) : query;
}

function normaliseContextPath(contextPath: string | undefined): string {
  if (contextPath === undefined) return '';
  // A whole base URL (`https://x.atlassian.net/wiki`, an app's descriptor baseUrl) counts as its path.
  let p = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(contextPath) ? splitRawUrl(contextPath).pathname : contextPath;
  while (p.endsWith('/')) p = p.slice(0, -1);
  if (p !== '' && !p.startsWith('/')) p = `/${p}`;
  return p;
}

/** The canonical-URI part: context path stripped, one trailing `/` removed, `&` escaped, raw otherwise. */
export function canonicalUri(pathname: string, contextPath?: string): string {
  let path = pathname;
  const ctx = normaliseContextPath(contextPath);
  // Strip only on a segment boundary: `/wiki` must not eat the start of `/wikipedia`.
  if (ctx !== '' && (path === ctx || path.startsWith(`${ctx}/`))) path = path.slice(ctx.length);
  if (path === '') path = '/';
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  path = path.replace(/&/g, '%26');
  if (!path.startsWith('/')) path = `/${path}`;
  return path;
}

/**
 * The canonical-query part. Drops `jwt`, groups repeated keys, sorts each key's values (UTF-16 order, as
 * both Java's String.compareTo and atlassian-jwt do) and joins them with an unencoded `,`.
 *
 * Keys are sorted on their *encoded* form, as Atlassian's Java canonicaliser (ACSB) does; atlassian-jwt
 * sorts on the raw keys. The two only differ for keys that need percent-encoding (doc §1.3 [I]); we side
 * with the Java implementation because the product side that signs requests is Java.
 */
export function canonicalQuery(query: QueryInput | undefined): string {
  const groups = new Map<string, string[]>();
  for (const [key, value] of toEntries(query)) {
    if (key === 'jwt') continue;
    const values = groups.get(key);
    if (values === undefined) groups.set(key, [value]);
    else values.push(value);
  }
  const encoded: Array<[string, string]> = [];
  for (const [key, values] of groups) {
    const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    encoded.push([encodeRfc3986(key), sorted.map(encodeRfc3986).join(',')]);
  }
  // Encoded keys are pure ASCII, so code-unit order is code-point order.
  encoded.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return encoded.map(([k, v]) => `${k}=${v}`).join('&');
}

/** `METHOD&canonical-URI&canonical-query`. */
export function canonicalRequest(input: CanonicalRequestInput): string {
  const method = input.method.trim().toUpperCase();
  if (method === '') throw new TypeError('canonicalRequest needs an HTTP method');
  return `${method}&${canonicalUri(input.pathname, input.contextPath)}&${canonicalQuery(input.query)}`;
}

/** Lower-case hex SHA-256 of a canonical request string. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The qsh claim for a request. */
export function queryStringHash(input: CanonicalRequestInput): string {
  return sha256Hex(canonicalRequest(input));
}

/**
 * Splits a raw request target (`/path?query#frag`, or an absolute `https://host/path?query`) into the raw
 * pathname and raw query, without any normalisation. Scheme, authority and fragment are dropped.
 */
export function splitRawUrl(url: string): { pathname: string; query: string } {
  let rest = url;
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(rest);
  if (scheme !== null) {
    rest = rest.slice(scheme[0].length);
    const authorityEnd = rest.search(/[/?]/);
    rest = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  }
  const q = rest.indexOf('?');
  return q === -1 ? { pathname: rest, query: '' } : { pathname: rest.slice(0, q), query: rest.slice(q + 1) };
}

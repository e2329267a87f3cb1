import { createHash } from 'node:crypto';

/**
 * The Connect canonical request and query-string hash (protocol doc §1.3), written from the doc, not from
 * the gateway's code. Works on the raw URL text: no WHATWG or legacy `url.parse` normalisation of the path.
 */

/** RFC 3986 percent-encoding with upper-case hex; only `A–Z a–z 0–9 - . _ ~` stay as they are. */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decodeQueryComponent(s: string): string {
  const spaced = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** Splits a URL (absolute or path-only) into its raw path and raw query, without decoding anything. */
export function splitRawUrl(url: string): { path: string; query: string } {
  let rest = url;
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(rest);
  if (scheme) {
    const afterScheme = rest.slice(scheme[0].length);
    const cut = afterScheme.search(/[/?]/);
    rest = cut < 0 ? '' : afterScheme.slice(cut);
  }
  const q = rest.indexOf('?');
  return q < 0 ? { path: rest, query: '' } : { path: rest.slice(0, q), query: rest.slice(q + 1) };
}

export function canonicalUri(rawPath: string, contextPath = ''): string {
  let path = rawPath;
  const ctx = contextPath.replace(/\/+$/, '');
  if (ctx !== '' && (path === ctx || path.startsWith(`${ctx}/`))) path = path.slice(ctx.length);
  if (path === '') path = '/';
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  path = path.replace(/&/g, '%26');
  if (!path.startsWith('/')) path = `/${path}`;
  return path;
}

/** Parses a raw query (`a=1&b=2`, `+` = space) into decoded key → values. */
export function parseRawQuery(query: string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  if (query === '') return params;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeQueryComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeQueryComponent(part.slice(eq + 1));
    const list = params.get(key);
    if (list) list.push(value);
    else params.set(key, [value]);
  }
  return params;
}

/**
 * Parameters sorted on the *percent-encoded* key, as Atlassian's Java canonicaliser does (it sorts on
 * `percentEncode(name) + ' ' + ...`). Sorting on the raw key (as atlassian-jwt for Node does) gives another
 * order as soon as a key needs encoding next to plain ones: raw `[` (0x5B) sorts after `Z`, encoded `%5B`
 * before every letter. The product that signs requests is Java, so its order is the one that counts.
 */
export function canonicalQuery(params: Map<string, string[]>): string {
  const encoded = [...params.entries()]
    .filter(([k]) => k !== 'jwt')
    .map(([key, values]) => [encodeRfc3986(key), [...values].sort(compareCodePoints).map(encodeRfc3986).join(',')] as const);
  // Encoded keys are ASCII only, so comparing code units compares code points.
  return encoded
    .sort(([a], [b]) => compareCodePoints(a, b))
    .map(([key, values]) => `${key}=${values}`)
    .join('&');
}

function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface CanonicalRequestInput {
  method: string;
  /** The URL as sent: absolute (`https://h/wiki/rest/api/x?a=b`) or a raw path with query. */
  url: string;
  /** Path prefix to strip: `/wiki` for a Confluence site, the app baseUrl's path for requests to an app. */
  contextPath?: string;
  /** Form body fields, used as the query when the URL has none (AJWT `checkBodyForParams`). */
  bodyParams?: Map<string, string[]>;
}

export function createCanonicalRequest(input: CanonicalRequestInput): string {
  const { path, query } = splitRawUrl(input.url);
  let params = parseRawQuery(query);
  if (params.size === 0 && input.bodyParams) params = input.bodyParams;
  return `${input.method.toUpperCase()}&${canonicalUri(path, input.contextPath)}&${canonicalQuery(params)}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function computeQsh(input: CanonicalRequestInput): string {
  return sha256Hex(createCanonicalRequest(input));
}

import { GatewayError } from '../errors.js';

/**
 * Where a credential may go. The act-as client sends a credential only to URLs this module accepts: the
 * API base's own origin, under its path, with no trick that a server or proxy could later turn into
 * something else (dot segments, encoded slashes, backslashes, userinfo, other schemes).
 */

/** A parsed, validated API base such as `https://x.atlassian.net/wiki` or `https://api.atlassian.com/ex/confluence/<id>/wiki`. */
export interface ApiBase {
  /** `https://x.atlassian.net` */
  origin: string;
  /** `/wiki`, or `''` when the base is the bare origin. Never ends in `/`. */
  basePath: string;
  /** `origin + basePath` */
  href: string;
}

export type TargetRefusal =
  | 'not_a_string'
  | 'unparseable_url'
  | 'unsupported_scheme'
  | 'relative_path_must_start_with_slash'
  | 'scheme_relative_url'
  | 'other_origin'
  | 'userinfo'
  | 'outside_base_path'
  | 'dot_segment'
  | 'encoded_slash'
  | 'backslash'
  | 'control_character'
  | 'malformed_percent_encoding';

export type TargetResult =
  | {
      ok: true;
      url: URL;
      /** Path and query relative to the API base (`/rest/api/content?limit=5`); what a Connect qsh covers. */
      apiPath: string;
    }
  | { ok: false; code: 'FORBIDDEN' | 'BAD_REQUEST'; reason: TargetRefusal };

const LOOPBACK_HOST = /^(?:localhost|[^.]+(?:\.[^.]+)*\.localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

const BAD_REQUEST_REASONS: ReadonlySet<TargetRefusal> = new Set([
  'not_a_string',
  'unparseable_url',
  'unsupported_scheme',
  'relative_path_must_start_with_slash',
  'control_character',
  'malformed_percent_encoding',
]);

function refuse(reason: TargetRefusal): TargetResult {
  return { ok: false, code: BAD_REQUEST_REASONS.has(reason) ? 'BAD_REQUEST' : 'FORBIDDEN', reason };
}

/**
 * Validates the API base once, in the client factory. https always; plain http only for loopback hosts
 * (`localhost`, `*.localhost`, `127.x`, `[::1]`, which is where the sandbox lives) or when
 * `allowInsecureHttp` is set explicitly.
 */
export function parseApiBase(raw: string, options: { allowInsecureHttp?: boolean } = {}): ApiBase {
  const fail = (why: string): never => {
    throw new GatewayError('CONFIG_INVALID', `apiBaseUrl ${why}. Pass the site API base, e.g. https://your-site.atlassian.net/wiki or https://api.atlassian.com/ex/confluence/<cloudId>/wiki.`, {
      details: { option: 'apiBaseUrl', reason: why },
    });
  };
  if (typeof raw !== 'string' || raw.trim() === '') return fail('is empty');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail('must use https');
  if (url.protocol === 'http:' && !options.allowInsecureHttp && !LOOPBACK_HOST.test(url.hostname)) {
    return fail('uses plain http for a non-loopback host (set allowInsecureHttp to allow it)');
  }
  if (url.username !== '' || url.password !== '') return fail('must not contain user info');
  // As written: the parser finds a query or fragment only where the string has a ? or #, and drops an empty one.
  if (raw.includes('?') || raw.includes('#')) return fail('must not contain a query or fragment');
  const rawPath = rawPathOf(raw);
  if (rawPath !== undefined && checkRawPath(rawPath) !== null) return fail('has an unsafe path');
  const basePath = url.pathname.replace(/\/+$/, '');
  return { origin: url.origin, basePath, href: url.origin + basePath };
}

/** The path part of an absolute or scheme-relative URL string as written (no decoding), or undefined. */
function rawPathOf(raw: string): string | undefined {
  const m = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?\/\/[^/?#\\]*([^?#]*)/.exec(raw);
  return m ? (m[1] ?? '') : undefined;
}

// How a server that decodes a second time reads what is left: each run of `%XX` becomes its bytes, and a
// `%` not followed by two hex digits stays a `%` (as most servers leave it), so a name such as `100%25.pdf`
// (`100%.pdf` once decoded) is text, not an error. Non-UTF-8 bytes turn into U+FFFD; the checks that follow
// look only at ASCII (`.`, `/`, `\`, `;`, control characters), which this keeps exactly.
function decodeLeniently(text: string): string {
  return text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}

// The segment as written, then as up to four rounds of decoding read it. The first round is strict: a
// segment that is not valid percent-encoding is refused (Atlassian would refuse it too). Later rounds only
// stand for servers that decode again, so they are lenient (decodeLeniently).
function decodeStages(segment: string): string[] | null {
  const stages = [segment];
  let current = segment;
  for (let i = 0; i < 4 && current.includes('%'); i++) {
    let next: string;
    if (i === 0) {
      try {
        next = decodeURIComponent(current);
      } catch {
        return null;
      }
    } else {
      next = decodeLeniently(current);
    }
    if (next === current) break;
    stages.push(next);
    current = next;
  }
  return stages;
}

/**
 * Checks a path as written, before any URL parser normalises it: no backslash, no control character,
 * and no segment that is (or decodes, repeatedly, to) `.` / `..` (also `..;x`, which Java servers read as
 * `..`) or that hides a `/` or `\`. Returns the refusal, or null when the path is fine.
 */
export function checkRawPath(rawPath: string): TargetRefusal | null {
  if (rawPath.includes('\\')) return 'backslash';
  if (/[\u0000-\u001f\u007f]/.test(rawPath)) return 'control_character';
  for (const segment of rawPath.split('/')) {
    const stages = decodeStages(segment);
    if (stages === null) return 'malformed_percent_encoding';
    for (const [i, s] of stages.entries()) {
      if (i > 0 && (s.includes('/') || s.includes('\\'))) return s.includes('/') ? 'encoded_slash' : 'backslash';
      if (i > 0 && /[\u0000-\u001f\u007f]/.test(s)) return 'control_character';
      const bare = s.split(';')[0] ?? '';
      if (bare === '.' || bare === '..') return 'dot_segment';
    }
  }
  return null;
}

function isUnderBase(base: ApiBase, url: URL): boolean {
  return url.pathname === base.basePath || url.pathname.startsWith(`${base.basePath}/`);
}

function finish(base: ApiBase, url: URL): TargetResult {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return refuse('unsupported_scheme');
  if (url.username !== '' || url.password !== '') return refuse('userinfo');
  if (url.origin !== base.origin) return refuse('other_origin');
  if (!isUnderBase(base, url)) return refuse('outside_base_path');
  url.hash = '';
  const rest = url.pathname.slice(base.basePath.length);
  return { ok: true, url, apiPath: `${rest === '' ? '/' : rest}${url.search}` };
}

function resolveAbsolute(base: ApiBase, raw: string, relativeTo: URL | string): TargetResult {
  let url: URL;
  try {
    url = new URL(raw, relativeTo);
  } catch {
    return refuse('unparseable_url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return refuse('unsupported_scheme');
  const authority = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?\/\/([^/?#]*)/.exec(raw)?.[1] ?? '';
  if (authority.includes('@')) return refuse('userinfo');
  if (authority.includes('\\')) return refuse('backslash');
  const rawPath = rawPathOf(raw);
  if (rawPath === undefined) return refuse('unparseable_url');
  const problem = checkRawPath(rawPath);
  if (problem) return refuse(problem);
  return finish(base, url);
}

/**
 * Resolves what a caller passed to `client.fetch`: a path relative to the API base (`/api/v2/pages`,
 * `/rest/api/content?limit=5`) or an absolute URL. Relative paths are joined onto the base path, so
 * `/api/v2/pages` on `https://x.atlassian.net/wiki` is `https://x.atlassian.net/wiki/api/v2/pages`.
 */
export function resolveApiTarget(base: ApiBase, input: string | URL): TargetResult {
  if (input instanceof URL) {
    // Already parsed (dot segments gone), but encoded slashes and the like survive parsing: check them.
    const problem = checkRawPath(input.pathname);
    return problem ? refuse(problem) : finish(base, new URL(input.href));
  }
  if (typeof input !== 'string') return refuse('not_a_string');
  if (/[\u0000-\u001f\u007f]/.test(input)) return refuse('control_character');
  if (input.startsWith('//') || input.startsWith('\\') || input.startsWith('/\\')) return refuse(input.startsWith('//') ? 'scheme_relative_url' : 'backslash');
  if (SCHEME.test(input)) {
    if (!/^https?:/i.test(input)) return refuse('unsupported_scheme');
    return resolveAbsolute(base, input, base.href);
  }
  if (!input.startsWith('/')) return refuse('relative_path_must_start_with_slash');
  const cut = input.search(/[?#]/);
  const problem = checkRawPath(cut < 0 ? input : input.slice(0, cut));
  if (problem) return refuse(problem);
  let url: URL;
  try {
    url = new URL(base.origin + base.basePath + input);
  } catch {
    return refuse('unparseable_url');
  }
  return finish(base, url);
}

/**
 * Resolves a redirect's `Location` the way a browser would (relative to the URL that answered), then
 * applies the same rules: only the API base's origin and path, no escape tricks.
 */
export function resolveRedirectTarget(base: ApiBase, location: string, current: URL): TargetResult {
  if (/[\u0000-\u001f\u007f]/.test(location)) return refuse('control_character');
  if (SCHEME.test(location) && !/^https?:/i.test(location)) return refuse('unsupported_scheme');
  if (SCHEME.test(location) || location.startsWith('//')) return resolveAbsolute(base, location, current);
  const cut = location.search(/[?#]/);
  const problem = checkRawPath(cut < 0 ? location : location.slice(0, cut));
  if (problem) return refuse(problem);
  let url: URL;
  try {
    url = new URL(location, current);
  } catch {
    return refuse('unparseable_url');
  }
  return finish(base, url);
}

/** Throws the refusal as a GatewayError (the input itself is never echoed: it may hold userinfo). */
export function assertTarget(result: TargetResult): Extract<TargetResult, { ok: true }> {
  if (result.ok) return result;
  throw new GatewayError(
    result.code,
    result.code === 'FORBIDDEN'
      ? `Refused to send the credential: the URL is not under the Confluence API base (${result.reason}).`
      : `The Confluence API path is invalid (${result.reason}).`,
    { details: { reason: result.reason } },
  );
}

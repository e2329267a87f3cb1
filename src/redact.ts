/**
 * The one place that decides what must never be shown: used by the logger for every line and by anything
 * that renders a request or error for humans. Keys are matched case-insensitively, ignoring `-` and `_`,
 * so `Authorization`, `access_token` and `accessToken` are all caught.
 */

export const REDACTED = '[REDACTED]';

const SENSITIVE_KEYS = new Set(
  [
    'authorization',
    'proxyauthorization',
    'cookie',
    'setcookie',
    'xacpt',
    'token',
    'accesstoken',
    'refreshtoken',
    'idtoken',
    'previoustoken',
    'secret',
    'sharedsecret',
    'clientsecret',
    'password',
    'passphrase',
    'assertion',
    'jwt',
    'apikey',
    'masterkey',
    'masterkeys',
    'authorizationcode',
    'completioncode',
    'oauthstate',
    'databaseurl',
  ].map(normalise),
);

/** Query parameters that carry credentials in URLs (Connect iframe/webhook `jwt`, OAuth `code`, ...). */
const SENSITIVE_PARAMS = ['jwt', 'code', 'state', 'access_token', 'refresh_token', 'token', 'assertion', 'client_secret', 'api_key', 'apikey', 'key'];

function normalise(k: string): string {
  return k.toLowerCase().replace(/[-_]/g, '');
}

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEYS.has(normalise(key));
}

const PARAM_RE = new RegExp(`([?&;](?:${SENSITIVE_PARAMS.join('|')})=)[^&#\\s"']*`, 'gi');
const SCHEME_RE = /\b(Bearer|JWT|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
const URL_CREDENTIALS_RE = /\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s:]+:[^/@\s]+@/gi;
const COMPACT_JWT_RE = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
/**
 * Our own bearer values (`obl_` link sessions, `obc_` completion codes, `obk_` API keys, ...: see
 * `newSecretToken`). They travel in paths and query strings (`/link/obl_...`), so neither the key rules
 * nor the parameter rules catch them; the prefix is kept so a log still says what kind of value it was.
 */
const OUR_TOKEN_RE = /\b(ob[a-z])_[A-Za-z0-9_-]{16,}/g;

/** Scrubs credentials that appear inside free text or URLs. */
export function redactString(s: string): string {
  return s
    .replace(PARAM_RE, `$1${REDACTED}`)
    .replace(SCHEME_RE, `$1 ${REDACTED}`)
    .replace(URL_CREDENTIALS_RE, `$1${REDACTED}@`)
    .replace(COMPACT_JWT_RE, REDACTED)
    .replace(OUR_TOKEN_RE, `$1_${REDACTED}`);
}

/** A deep copy with sensitive keys replaced and credentials scrubbed from strings. Cycles are cut. */
export function redact<T>(value: T): T {
  return walk(value, new WeakSet()) as T;
}

function walk(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: redactString(value.message) };
    if (value.stack) out['stack'] = redactString(value.stack);
    for (const [k, v] of Object.entries(value)) out[k] = isSensitiveKey(k) ? REDACTED : walk(v, seen);
    if (value.cause !== undefined) out['cause'] = walk(value.cause, seen);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => walk(v, seen));
  if (value instanceof Headers) {
    const out: Record<string, string> = {};
    value.forEach((v, k) => {
      out[k] = isSensitiveKey(k) ? REDACTED : redactString(v);
    });
    return out;
  }
  if (value instanceof URL) return redactString(value.href);
  if (value instanceof Date) return value;
  if (Buffer.isBuffer(value)) return `[Buffer ${value.length} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSensitiveKey(k) && v !== null && v !== undefined && typeof v !== 'boolean' ? REDACTED : walk(v, seen);
  }
  return out;
}

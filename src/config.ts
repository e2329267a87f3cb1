import { isAbsolute, resolve } from 'node:path';
import { GatewayError } from './errors.js';

/**
 * Turns environment variables and CLI flags into one frozen, validated Config. This is the only file that
 * reads `process.env`, and only through `loadConfig()`'s default argument: library code receives a Config.
 * Every problem is reported at once, each naming its variable (and flag) and saying how to fix it.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseConfig =
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string; readonly poolSize: number };

/** One master key: `id` is stored beside every ciphertext so rotation can tell old from new. */
export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

export type KeysConfig =
  /** Keys given inline (ONBEHALF_MASTER_KEYS); the first is the active one. */
  | { readonly source: 'env'; readonly keys: readonly MasterKey[] }
  /** A keyring file; `generateIfMissing` only in embedded (SQLite) mode, where one process owns the data. */
  | { readonly source: 'file'; readonly path: string; readonly generateIfMissing: boolean };

/** Names of the Atlassian endpoints that can be overridden one by one (see atlassian/endpoints.ts). */
export const ENDPOINT_OVERRIDES = {
  impersonationTokenUrl: 'ONBEHALF_ATLASSIAN_IMPERSONATION_TOKEN_URL',
  impersonationAudience: 'ONBEHALF_ATLASSIAN_IMPERSONATION_AUDIENCE',
  installKeysUrl: 'ONBEHALF_ATLASSIAN_INSTALL_KEYS_URL',
  authorizeUrl: 'ONBEHALF_ATLASSIAN_AUTHORIZE_URL',
  tokenUrl: 'ONBEHALF_ATLASSIAN_TOKEN_URL',
  accessibleResourcesUrl: 'ONBEHALF_ATLASSIAN_ACCESSIBLE_RESOURCES_URL',
  meUrl: 'ONBEHALF_ATLASSIAN_ME_URL',
  apiGatewayUrl: 'ONBEHALF_ATLASSIAN_API_URL',
  connectAllJsUrl: 'ONBEHALF_ATLASSIAN_CONNECT_ALL_JS_URL',
  forgeJwksUrl: 'ONBEHALF_ATLASSIAN_FORGE_JWKS_URL',
  forgeGraphqlUrl: 'ONBEHALF_ATLASSIAN_GRAPHQL_URL',
} as const;
export type EndpointName = keyof typeof ENDPOINT_OVERRIDES;

export interface ConnectConfig {
  readonly appKey: string;
  readonly appName: string;
  readonly vendorName: string;
  readonly vendorUrl: string | null;
  /** Adds ACCESS_EMAIL_ADDRESSES to the descriptor's scopes. */
  readonly emailAccess: boolean;
  /** Days an uninstalled tenant's data is kept before `tenants purge` (or the gateway) deletes it. */
  readonly tenantRetentionDays: number;
  /** Confluence groups whose members may use the configure page (checked as the app on every request). */
  readonly adminGroups: readonly string[];
}

export interface AtlassianConfig {
  /** A sandbox origin: endpoints are read from its `/_sandbox/discovery` document at start. */
  readonly sandboxUrl: string | null;
  readonly endpointOverrides: Readonly<Partial<Record<EndpointName, string>>>;
  /** Allows plain-http Atlassian endpoints; implied by sandboxUrl. Loud at start-up. */
  readonly allowInsecure: boolean;
  /** Clock leeway for inbound JWTs, 0-30 s. */
  readonly jwtLeewaySeconds: number;
}

export interface OAuthConfig {
  /** The 3LO app's client id; unset = the 3LO route is off (or, with a sandbox, registered automatically). */
  readonly clientId: string | null;
  readonly clientSecret: string | null;
  readonly scopes: readonly string[];
  /** Refresh tokens unused for this many days are refreshed in the background (Atlassian drops them after 90 idle days); 0 = off. */
  readonly idleRefreshDays: number;
}

export interface ApiConfig {
  /** Sustained requests per second per API key and gateway process. */
  readonly rateLimitPerSecond: number;
  /** Requests a key may make at once before the sustained rate applies. */
  readonly rateLimitBurst: number;
}

export interface BrokerConfig {
  /** A cached token is replaced this long before it expires. */
  readonly refreshSkewSeconds: number;
  /** Upper bound of cached access tokens per process. */
  readonly cacheMaxEntries: number;
}

export interface AdminConfig {
  /** The admin console's sign-in secret; null = the console is off (its pages say how to turn it on). */
  readonly secret: string | null;
  /** A console session ends this long after sign-in, however busy. */
  readonly sessionMaxMs: number;
  /** A console session ends after this long without a request. */
  readonly sessionIdleMs: number;
}

/** The Forge route (protocol doc part 2, §10): on when an app id is set. */
export interface ForgeConfig {
  /** `ari:cloud:ecosystem::app/<uuid>`: the `aud` every Forge Invocation Token must carry. */
  readonly appId: string | null;
  /** The context ARI form sent first to `offlineUserAuthToken` (§10.10); the other is tried once. */
  readonly contextIdForm: 'workspace' | 'site';
  /** The app's offline-token budget per sliding minute: shared by every instance on PostgreSQL, this instance's on SQLite. */
  readonly offlineTokensPerMinute: number;
}

export interface Config {
  readonly server: { readonly host: string; readonly port: number; readonly baseUrl: string };
  readonly connect: ConnectConfig;
  readonly forge: ForgeConfig;
  readonly atlassian: AtlassianConfig;
  readonly broker: BrokerConfig;
  readonly oauth: OAuthConfig;
  readonly api: ApiConfig;
  readonly admin: AdminConfig;
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  readonly keys: KeysConfig;
  readonly log: { readonly level: LogLevel };
  /** True when no external database is configured: SQLite file, generated key file, single process. */
  readonly embedded: boolean;
}

/** CLI flags, already parsed by the CLI; they win over environment variables. */
export interface ConfigFlags {
  sandboxUrl?: string;
  host?: string;
  port?: string;
  baseUrl?: string;
  dataDir?: string;
  databaseUrl?: string;
  sqliteFile?: string;
  keyFile?: string;
  logLevel?: string;
}

export interface VariableSpec {
  readonly env: string;
  readonly flag?: `--${string}`;
  readonly default: string;
  readonly doc: string;
}

/** Classic scopes (v1 REST) and granular ones (v2 REST) for acting as a user, plus identity for `/me`. */
export const DEFAULT_OAUTH_SCOPES = [
  'read:confluence-content.all',
  'write:confluence-content',
  'read:confluence-space.summary',
  'read:confluence-user',
  'read:page:confluence',
  'write:page:confluence',
  'read:space:confluence',
  'read:me',
];

/** Shortest admin console secret accepted: long enough that guessing is hopeless even without the throttle. */
export const ADMIN_SECRET_MIN_LENGTH = 32;

/** The documented variables; docs/configuration.md lists each one (a test keeps the two in step). */
export const CONFIG_VARIABLES: readonly VariableSpec[] = [
  { env: 'ONBEHALF_HOST', flag: '--host', default: '127.0.0.1', doc: 'Interface the gateway listens on.' },
  { env: 'ONBEHALF_PORT', flag: '--port', default: '4000', doc: 'TCP port of the gateway (0 picks a free one).' },
  {
    env: 'ONBEHALF_BASE_URL',
    flag: '--base-url',
    default: 'http://<host>:<port>',
    doc: 'Public URL of the gateway as Atlassian and browsers reach it; the Connect descriptor and link URLs use it.',
  },
  { env: 'ONBEHALF_DATA_DIR', flag: '--data-dir', default: './data', doc: 'Folder for the SQLite file and the generated key file.' },
  {
    env: 'DATABASE_URL',
    flag: '--database-url',
    default: '(unset: embedded SQLite)',
    doc: 'PostgreSQL connection URL (postgres://user:pass@host:5432/db). Set it to share state between several gateway instances.',
  },
  { env: 'ONBEHALF_DATABASE_SCHEMA', default: 'public', doc: 'PostgreSQL schema holding the tables.' },
  { env: 'ONBEHALF_DATABASE_POOL_SIZE', default: '10', doc: 'PostgreSQL connections per gateway process.' },
  {
    env: 'ONBEHALF_SQLITE_FILE',
    flag: '--sqlite-file',
    default: '<data dir>/onbehalf.sqlite',
    doc: 'SQLite database file (embedded mode only).',
  },
  {
    env: 'ONBEHALF_MASTER_KEYS',
    default: '(unset)',
    doc: 'Inline master keys, `id:base64key` separated by commas, the first one active. Each key is 32 random bytes in base64.',
  },
  {
    env: 'ONBEHALF_KEY_FILE',
    flag: '--key-file',
    default: '<data dir>/master-key.json',
    doc: 'Keyring file (JSON). Generated with mode 0600 on first start in embedded mode; required to exist with PostgreSQL.',
  },
  { env: 'ONBEHALF_LOG_LEVEL', flag: '--log-level', default: 'info', doc: 'fatal, error, warn, info, debug, trace or silent.' },
  { env: 'ONBEHALF_CONNECT_APP_KEY', default: 'onbehalf', doc: 'Key of the Connect app in its descriptor (at most 64 characters).' },
  { env: 'ONBEHALF_CONNECT_APP_NAME', default: 'onbehalf', doc: 'Name of the Connect app, shown to admins and users.' },
  { env: 'ONBEHALF_CONNECT_VENDOR_NAME', default: 'onbehalf', doc: 'Vendor name in the descriptor.' },
  { env: 'ONBEHALF_CONNECT_VENDOR_URL', default: '(unset)', doc: 'Vendor URL in the descriptor.' },
  { env: 'ONBEHALF_CONNECT_EMAIL_ACCESS', default: 'false', doc: 'true adds the ACCESS_EMAIL_ADDRESSES scope (needs Atlassian approval).' },
  { env: 'ONBEHALF_ADMIN_GROUPS', default: 'site-admins,confluence-admins,administrators', doc: 'Confluence groups whose members may use the configure page (Connect) and the Forge app\'s settings page.' },
  { env: 'ONBEHALF_TENANT_RETENTION_DAYS', default: '30', doc: 'Days an uninstalled site\'s data is kept before it is purged.' },
  { env: 'ONBEHALF_FORGE_APP_ID', default: '(unset: no Forge route)', doc: 'The Forge app id (ari:cloud:ecosystem::app/<uuid> or the UUID) whose remote this gateway is.' },
  { env: 'ONBEHALF_FORGE_CONTEXT_ID_FORM', default: 'workspace', doc: 'workspace or site: the context ARI form sent first to offlineUserAuthToken.' },
  { env: 'ONBEHALF_FORGE_OFFLINE_TOKENS_PER_MINUTE', default: '1000', doc: 'The per-app offline-token budget per sliding minute (Atlassian allows 1,000). On PostgreSQL every instance shares it (give each instance the same value); on SQLite it is the one instance\'s.' },
  {
    env: 'ONBEHALF_SANDBOX_URL',
    flag: '--sandbox-url',
    default: '(unset: production Atlassian)',
    doc: 'Origin of an onbehalf sandbox; every Atlassian endpoint is read from its /_sandbox/discovery document at start.',
  },
  ...Object.values(ENDPOINT_OVERRIDES).map((env) => ({ env, default: '(production value)', doc: 'Overrides one Atlassian endpoint (see docs/configuration.md).' })),
  { env: 'ONBEHALF_ALLOW_INSECURE_ATLASSIAN', default: 'false', doc: 'true allows plain-http Atlassian endpoints (implied by ONBEHALF_SANDBOX_URL).' },
  { env: 'ONBEHALF_JWT_LEEWAY_SECONDS', default: '5', doc: 'Clock leeway for JWTs from Atlassian, 0-30 seconds.' },
  { env: 'ONBEHALF_OAUTH_CLIENT_ID', default: '(unset)', doc: 'Client id of your OAuth 2.0 (3LO) app in the Atlassian developer console.' },
  { env: 'ONBEHALF_OAUTH_CLIENT_SECRET', default: '(unset)', doc: 'Its client secret (stored encrypted, never logged).' },
  { env: 'ONBEHALF_OAUTH_SCOPES', default: DEFAULT_OAUTH_SCOPES.join(' '), doc: 'Scopes asked for at consent (offline_access is always added).' },
  { env: 'ONBEHALF_OAUTH_IDLE_REFRESH_DAYS', default: '30', doc: 'Refresh 3LO grants unused for this many days (0 = off).' },
  { env: 'ONBEHALF_API_RATE_LIMIT', default: '1000', doc: 'Sustained /v1 requests per second per API key (per gateway process).' },
  { env: 'ONBEHALF_API_RATE_BURST', default: '2000', doc: 'Requests an API key may make at once before the sustained rate applies.' },
  {
    env: 'ONBEHALF_ADMIN_SECRET',
    default: '(unset: console off)',
    doc: `Secret that signs in to the admin console at <base URL>/admin; at least ${ADMIN_SECRET_MIN_LENGTH} characters. Unset: the console is off.`,
  },
  { env: 'ONBEHALF_ADMIN_SESSION_HOURS', default: '12', doc: 'A console session ends this many hours after sign-in (1-168).' },
  { env: 'ONBEHALF_ADMIN_IDLE_MINUTES', default: '30', doc: 'A console session ends after this many minutes without a request (1-1440).' },
  { env: 'ONBEHALF_TOKEN_REFRESH_SKEW_SECONDS', default: '60', doc: 'A cached access token is replaced this long before it expires.' },
  { env: 'ONBEHALF_TOKEN_CACHE_SIZE', default: '10000', doc: 'Most access tokens cached in memory per process.' },
];

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env, flags: ConfigFlags = {}, cwd: string = process.cwd()): Config {
  const problems: { variable: string; message: string }[] = [];
  const problem = (spec: string, message: string): void => {
    problems.push({ variable: spec, message: `${spec}: ${message}` });
  };
  const name = (envName: string): string => {
    const flag = CONFIG_VARIABLES.find((v) => v.env === envName)?.flag;
    return flag ? `${envName} (or ${flag})` : envName;
  };
  const read = (envName: string, flag: string | undefined): string | undefined => {
    const raw = flag ?? env[envName];
    if (raw === undefined) return undefined;
    const trimmed = raw.trim();
    return trimmed === '' ? undefined : trimmed;
  };

  const host = read('ONBEHALF_HOST', flags.host) ?? '127.0.0.1';

  const portRaw = read('ONBEHALF_PORT', flags.port) ?? '4000';
  const port = Number(portRaw);
  if (!/^\d+$/.test(portRaw) || port > 65535) {
    problem(name('ONBEHALF_PORT'), `must be a whole number from 0 to 65535, got "${portRaw}". Example: ONBEHALF_PORT=4000.`);
  }

  const baseUrlRaw = read('ONBEHALF_BASE_URL', flags.baseUrl);
  let baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (baseUrlRaw !== undefined) {
    const parsed = parseUrl(baseUrlRaw);
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      problem(name('ONBEHALF_BASE_URL'), `must be an absolute http(s) URL, got "${baseUrlRaw}". Example: https://onbehalf.example.com.`);
    } else if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') {
      problem(name('ONBEHALF_BASE_URL'), 'must not carry a query, fragment or credentials. Give only scheme, host, port and path.');
    } else {
      baseUrl = parsed.href.replace(/\/+$/, '');
    }
  }

  const dataDir = absolute(read('ONBEHALF_DATA_DIR', flags.dataDir) ?? './data', cwd);

  const databaseUrl = read('DATABASE_URL', flags.databaseUrl);
  let database: DatabaseConfig;
  if (databaseUrl !== undefined) {
    const parsed = parseUrl(databaseUrl);
    if (!parsed || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')) {
      // Never echo the value: it usually holds a password.
      problem(name('DATABASE_URL'), 'must be a postgres:// or postgresql:// URL, e.g. postgres://onbehalf:secret@127.0.0.1:5432/onbehalf. Unset it to use the embedded SQLite file.');
    }
    const schema = read('ONBEHALF_DATABASE_SCHEMA', undefined) ?? 'public';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      problem('ONBEHALF_DATABASE_SCHEMA', `must be a lower-case SQL identifier (letters, digits, _), got "${schema}".`);
    }
    const poolRaw = read('ONBEHALF_DATABASE_POOL_SIZE', undefined) ?? '10';
    const poolSize = Number(poolRaw);
    if (!/^\d+$/.test(poolRaw) || poolSize < 1 || poolSize > 1000) {
      problem('ONBEHALF_DATABASE_POOL_SIZE', `must be a whole number from 1 to 1000, got "${poolRaw}".`);
    }
    database = { kind: 'postgres', url: databaseUrl, schema, poolSize };
  } else {
    const file = absolute(read('ONBEHALF_SQLITE_FILE', flags.sqliteFile) ?? resolve(dataDir, 'onbehalf.sqlite'), cwd);
    database = { kind: 'sqlite', file };
  }
  const embedded = database.kind === 'sqlite';

  let keys: KeysConfig;
  const inlineKeys = read('ONBEHALF_MASTER_KEYS', undefined);
  const keyFile = read('ONBEHALF_KEY_FILE', flags.keyFile);
  if (inlineKeys !== undefined && keyFile !== undefined) {
    problem('ONBEHALF_MASTER_KEYS', 'and ONBEHALF_KEY_FILE are both set. Keep one source of master keys: unset the other.');
    keys = { source: 'env', keys: [] };
  } else if (inlineKeys !== undefined) {
    const parsedKeys = parseInlineKeys(inlineKeys);
    if (typeof parsedKeys === 'string') problem('ONBEHALF_MASTER_KEYS', parsedKeys);
    keys = { source: 'env', keys: typeof parsedKeys === 'string' ? [] : parsedKeys };
  } else {
    // With a shared database every instance must use the same keys, so none may invent its own.
    keys = { source: 'file', path: absolute(keyFile ?? resolve(dataDir, 'master-key.json'), cwd), generateIfMissing: embedded };
  }

  const level = (read('ONBEHALF_LOG_LEVEL', flags.logLevel) ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    problem(name('ONBEHALF_LOG_LEVEL'), `must be one of ${LOG_LEVELS.join(', ')}; got "${level}".`);
  }

  const int = (envName: string, fallback: number, min: number, max: number): number => {
    const raw = read(envName, undefined) ?? String(fallback);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problem(envName, `must be a whole number from ${min} to ${max}, got "${raw}".`);
      return fallback;
    }
    return n;
  };
  const bool = (envName: string): boolean => {
    const raw = (read(envName, undefined) ?? 'false').toLowerCase();
    if (!['true', 'false', '1', '0', 'yes', 'no'].includes(raw)) {
      problem(envName, `must be true or false, got "${raw}".`);
      return false;
    }
    return raw === 'true' || raw === '1' || raw === 'yes';
  };

  const appKey = read('ONBEHALF_CONNECT_APP_KEY', undefined) ?? 'onbehalf';
  if (!/^[a-zA-Z0-9._-]{1,64}$/.test(appKey)) {
    problem('ONBEHALF_CONNECT_APP_KEY', `must be 1-64 letters, digits, dots, _ or -, got "${appKey}". Example: com.example.onbehalf.`);
  }
  const vendorUrl = read('ONBEHALF_CONNECT_VENDOR_URL', undefined) ?? null;
  if (vendorUrl !== null && !/^https?:\/\//.test(vendorUrl)) problem('ONBEHALF_CONNECT_VENDOR_URL', `must be an http(s) URL, got "${vendorUrl}".`);
  const connect: ConnectConfig = {
    appKey,
    appName: read('ONBEHALF_CONNECT_APP_NAME', undefined) ?? 'onbehalf',
    vendorName: read('ONBEHALF_CONNECT_VENDOR_NAME', undefined) ?? 'onbehalf',
    vendorUrl,
    emailAccess: bool('ONBEHALF_CONNECT_EMAIL_ACCESS'),
    tenantRetentionDays: int('ONBEHALF_TENANT_RETENTION_DAYS', 30, 0, 3650),
    adminGroups: (read('ONBEHALF_ADMIN_GROUPS', undefined) ?? 'site-admins,confluence-admins,administrators').split(',').map((g) => g.trim()).filter((g) => g !== ''),
  };

  const forgeAppRaw = read('ONBEHALF_FORGE_APP_ID', undefined) ?? null;
  const forgeAppId = forgeAppRaw === null ? null : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(forgeAppRaw) ? `ari:cloud:ecosystem::app/${forgeAppRaw}` : forgeAppRaw;
  if (forgeAppId !== null && !/^ari:cloud:ecosystem::app\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(forgeAppId)) {
    problem('ONBEHALF_FORGE_APP_ID', `must be the app's id from manifest.yml, ari:cloud:ecosystem::app/<uuid> (or the UUID), got "${forgeAppRaw}".`);
  }
  const contextIdForm = read('ONBEHALF_FORGE_CONTEXT_ID_FORM', undefined) ?? 'workspace';
  if (contextIdForm !== 'workspace' && contextIdForm !== 'site') problem('ONBEHALF_FORGE_CONTEXT_ID_FORM', `must be workspace or site, got "${contextIdForm}".`);
  const forge: ForgeConfig = {
    appId: forgeAppId,
    contextIdForm: contextIdForm === 'site' ? 'site' : 'workspace',
    offlineTokensPerMinute: int('ONBEHALF_FORGE_OFFLINE_TOKENS_PER_MINUTE', 1000, 1, 1000),
  };

  const sandboxUrl = read('ONBEHALF_SANDBOX_URL', flags.sandboxUrl) ?? null;
  if (sandboxUrl !== null) {
    const u = parseUrl(sandboxUrl);
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.pathname !== '/' || u.search !== '') {
      problem(name('ONBEHALF_SANDBOX_URL'), `must be the origin of a sandbox, like http://127.0.0.1:4100, got "${sandboxUrl}".`);
    }
  }
  const allowInsecure = bool('ONBEHALF_ALLOW_INSECURE_ATLASSIAN') || sandboxUrl !== null;
  const endpointOverrides: Partial<Record<EndpointName, string>> = {};
  for (const [key, envName] of Object.entries(ENDPOINT_OVERRIDES) as [EndpointName, string][]) {
    const value = read(envName, undefined);
    if (value === undefined) continue;
    const u = parseUrl(value);
    if (!u || (u.protocol !== 'https:' && !(u.protocol === 'http:' && allowInsecure))) {
      problem(envName, `must be an https:// URL${allowInsecure ? ' (or http://)' : '; plain http needs ONBEHALF_ALLOW_INSECURE_ATLASSIAN=true'}, got "${value}".`);
      continue;
    }
    endpointOverrides[key] = value.replace(/\/+$/, '');
  }
  const atlassian: AtlassianConfig = {
    sandboxUrl: sandboxUrl?.replace(/\/+$/, '') ?? null,
    endpointOverrides,
    allowInsecure,
    jwtLeewaySeconds: int('ONBEHALF_JWT_LEEWAY_SECONDS', 5, 0, 30),
  };
  const broker: BrokerConfig = {
    refreshSkewSeconds: int('ONBEHALF_TOKEN_REFRESH_SKEW_SECONDS', 60, 0, 600),
    cacheMaxEntries: int('ONBEHALF_TOKEN_CACHE_SIZE', 10000, 1, 10_000_000),
  };

  const clientId = read('ONBEHALF_OAUTH_CLIENT_ID', undefined) ?? null;
  const clientSecret = read('ONBEHALF_OAUTH_CLIENT_SECRET', undefined) ?? null;
  if ((clientId === null) !== (clientSecret === null)) {
    problem(clientId === null ? 'ONBEHALF_OAUTH_CLIENT_ID' : 'ONBEHALF_OAUTH_CLIENT_SECRET', 'set both ONBEHALF_OAUTH_CLIENT_ID and ONBEHALF_OAUTH_CLIENT_SECRET (from your 3LO app in the Atlassian developer console), or neither.');
  }
  const oauthScopes = (read('ONBEHALF_OAUTH_SCOPES', undefined) ?? DEFAULT_OAUTH_SCOPES.join(' ')).split(/[\s,]+/).filter((x) => x !== '');
  if (oauthScopes.some((x) => !/^[\x21-\x7e]{1,200}$/.test(x))) problem('ONBEHALF_OAUTH_SCOPES', 'must be scope names separated by spaces.');
  const api: ApiConfig = { rateLimitPerSecond: int('ONBEHALF_API_RATE_LIMIT', 1000, 1, 1_000_000), rateLimitBurst: int('ONBEHALF_API_RATE_BURST', 2000, 1, 10_000_000) };
  const oauth: OAuthConfig = { clientId, clientSecret, scopes: oauthScopes, idleRefreshDays: int('ONBEHALF_OAUTH_IDLE_REFRESH_DAYS', 30, 0, 89) };

  const adminSecret = read('ONBEHALF_ADMIN_SECRET', undefined) ?? null;
  if (adminSecret !== null && (adminSecret.length < ADMIN_SECRET_MIN_LENGTH || !/^[\x21-\x7e]+$/.test(adminSecret))) {
    // Never echo the value: it is a secret, even when too short to be a good one.
    problem(
      'ONBEHALF_ADMIN_SECRET',
      `must be at least ${ADMIN_SECRET_MIN_LENGTH} printable characters without spaces (got ${adminSecret.length}). Generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`,
    );
  }
  const admin: AdminConfig = {
    secret: adminSecret,
    sessionMaxMs: int('ONBEHALF_ADMIN_SESSION_HOURS', 12, 1, 168) * 3_600_000,
    sessionIdleMs: int('ONBEHALF_ADMIN_IDLE_MINUTES', 30, 1, 1440) * 60_000,
  };

  if (problems.length > 0) {
    throw new GatewayError(
      'CONFIG_INVALID',
      `Invalid configuration:\n${problems.map((p) => `  - ${p.message}`).join('\n')}\nSee docs/configuration.md.`,
      { details: { variables: problems.map((p) => p.variable) } },
    );
  }

  return deepFreeze<Config>({
    server: { host, port, baseUrl },
    connect,
    forge,
    atlassian,
    broker,
    oauth,
    api,
    admin,
    dataDir,
    database,
    keys,
    log: { level: level as LogLevel },
    embedded,
  });
}

/** Parses `id:base64,id:base64`; returns a fix-it message instead of throwing so all problems surface together. */
export function parseInlineKeys(raw: string): MasterKey[] | string {
  const keys: MasterKey[] = [];
  for (const part of raw.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const colon = part.indexOf(':');
    const id = colon > 0 ? part.slice(0, colon) : '';
    if (!KEY_ID.test(id)) {
      return 'each entry must look like `id:base64key`, where id is 1-32 letters, digits, _ or -. Generate a key with: node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64\'))"';
    }
    const key = Buffer.from(part.slice(colon + 1), 'base64');
    if (key.length !== 32) {
      return `key "${id}" must decode to exactly 32 bytes of base64 (got ${key.length}). Generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`;
    }
    if (keys.some((k) => k.id === id)) return `key id "${id}" appears twice; key ids must be unique.`;
    keys.push({ id, key });
  }
  if (keys.length === 0) return 'is set but holds no keys. Give at least one `id:base64key`.';
  return keys;
}

function parseUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

function absolute(p: string, cwd: string): string {
  return isAbsolute(p) ? p : resolve(cwd, p);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

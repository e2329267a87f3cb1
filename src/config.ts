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

export interface Config {
  readonly server: { readonly host: string; readonly port: number; readonly baseUrl: string };
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  readonly keys: KeysConfig;
  readonly log: { readonly level: LogLevel };
  /** True when no external database is configured: SQLite file, generated key file, single process. */
  readonly embedded: boolean;
}

/** CLI flags, already parsed by the CLI; they win over environment variables. */
export interface ConfigFlags {
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

  if (problems.length > 0) {
    throw new GatewayError(
      'CONFIG_INVALID',
      `Invalid configuration:\n${problems.map((p) => `  - ${p.message}`).join('\n')}\nSee docs/configuration.md.`,
      { details: { variables: problems.map((p) => p.variable) } },
    );
  }

  return deepFreeze<Config>({
    server: { host, port, baseUrl },
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

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationResult } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import { createChangeFeed, type ChangeFeed } from './change-feed.js';
import { GatewayError } from '../errors.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';
import type { StoreDialect } from './store-dialect.js';

export interface MigrationReport {
  /** Migrations applied by this call, in order. */
  readonly applied: readonly string[];
  /** Every migration the database has now. */
  readonly current: readonly string[];
}

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /** Where the data lives, safe to log: never includes a password. */
  readonly description: string;
  /**
   * Changes to remembered rows (links, installs, policies, API keys): published by this store's
   * repositories after each write, and by a change watcher (watch-changes.ts) for other processes' writes.
   */
  readonly changes: ChangeFeed;
  /** Applies pending migrations; forward-only. Throws MIGRATION_FAILED naming the migration. */
  migrate(): Promise<MigrationReport>;
  /** Lists applied and pending migrations without changing anything. */
  migrationStatus(): Promise<{ applied: string[]; pending: string[]; unknown: string[] }>;
  /** A cheap round trip, for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const PG_INT8 = 20;

export function createStore(config: DatabaseConfig): Store {
  if (config.kind === 'sqlite') {
    mkdirSync(dirname(config.file), { recursive: true });
    const database = new SQLite(config.file);
    // WAL lets readers proceed during a write; busy_timeout makes a second process wait for the write
    // lock instead of failing at once.
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
    return wrap(db, 'sqlite', `SQLite file ${config.file}`, undefined);
  }

  const url = new URL(config.url);
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolSize,
    // Times are stored as BIGINT milliseconds; node-pg returns int8 as a string unless told otherwise.
    // Per-pool parsers keep pg's global type registry untouched for other users in the process.
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === PG_INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
    options: config.schema === 'public' ? undefined : `-c search_path=${config.schema}`,
  });
  // An idle pooled connection the server ends (restart, failover, an admin's terminate) makes the pool emit
  // 'error'; unheard, that event would crash the process. The pool drops that connection and opens a new one
  // on the next query, and a query that was running fails on its own promise, so there is nothing to do here.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const where = `PostgreSQL ${url.hostname}:${url.port || '5432'}${url.pathname}${config.schema === 'public' ? '' : ` schema ${config.schema}`}`;
  return wrap(db, 'postgres', where, config.schema);
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every statement anew, and on SQLite preparing costs about as much as running a small
 * indexed query (profiled on the proxy path: a third of its database time). The gateway's statements are a
 * few hundred fixed SQL strings, so prepared statements are kept and reused (LRU-bounded). better-sqlite3
 * runs one statement at a time, and nothing here streams (`iterate()` would keep a statement busy).
 */
function withStatementCache(database: SQLite.Database): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  const prepare = (sql: string): SQLite.Statement => {
    const hit = cache.get(sql);
    if (hit) {
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    const stmt = database.prepare(sql);
    cache.set(sql, stmt);
    if (cache.size > STATEMENT_CACHE_SIZE) {
      const coldest = cache.keys().next().value;
      if (coldest !== undefined) cache.delete(coldest);
    }
    return stmt;
  };
  return new Proxy(database, {
    get(target, prop) {
      if (prop === 'prepare') return prepare;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function wrap(db: Kysely<Database>, dialect: StoreDialect, description: string, pgSchema: string | undefined): Store {
  const migrator = () =>
    new Migrator({
      db,
      provider: migrationProvider(dialect),
      ...(pgSchema && pgSchema !== 'public' ? { migrationTableSchema: pgSchema } : {}),
    });

  async function ensureSchema(): Promise<void> {
    if (pgSchema && pgSchema !== 'public') await sql`create schema if not exists ${sql.id(pgSchema)}`.execute(db);
  }

  return {
    db,
    dialect,
    description,
    changes: createChangeFeed(),
    async migrate() {
      try {
        await ensureSchema();
      } catch (cause) {
        throw new GatewayError('STORE_UNAVAILABLE', `Cannot reach ${description}: ${messageOf(cause)}`, { cause });
      }
      const { error, results } = await migrator().migrateToLatest();
      const failed = results?.find((r: MigrationResult) => r.status === 'Error');
      if (error !== undefined || failed) {
        throw new GatewayError(
          'MIGRATION_FAILED',
          `Migration ${failed?.migrationName ?? '(before any migration ran)'} failed on ${description}: ${messageOf(error)}. Nothing after it was applied.`,
          { cause: error, details: failed ? { migration: failed.migrationName } : {} },
        );
      }
      const status = await this.migrationStatus();
      return {
        applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
        current: status.applied,
      };
    },
    async migrationStatus() {
      await ensureSchema();
      const all = await migrator().getMigrations();
      const known = new Set(all.map((m) => m.name));
      // Migrations recorded by a newer onbehalf: this version must not run against that schema.
      const recorded = await sql<{ name: string }>`select name from ${sql.table(pgSchema && pgSchema !== 'public' ? `${pgSchema}.kysely_migration` : 'kysely_migration')} order by name`
        .execute(db)
        .then((r) => r.rows.map((row) => row.name))
        .catch(() => [] as string[]);
      return {
        applied: all.filter((m) => m.executedAt !== undefined).map((m) => m.name),
        pending: all.filter((m) => m.executedAt === undefined).map((m) => m.name),
        unknown: recorded.filter((n) => !known.has(n)),
      };
    },
    async ping() {
      try {
        await sql`select 1`.execute(db);
      } catch (cause) {
        throw new GatewayError('STORE_UNAVAILABLE', `Cannot reach ${description}: ${messageOf(cause)}`, { cause });
      }
    },
    async close() {
      await db.destroy();
    },
  };
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

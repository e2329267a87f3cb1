import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../../config.js';

/**
 * The backends every store contract test runs against: SQLite always, PostgreSQL when TEST_DATABASE_URL
 * is set (CI starts a real server). Each backend gets a fresh place (a temp file, a fresh database) and
 * removes it afterwards, so test files can run in parallel against one server.
 */
export interface TestBackend {
  name: 'sqlite' | 'postgres';
  /** Makes a fresh, empty database location. */
  create(): Promise<{ config: DatabaseConfig; cleanup(): Promise<void> }>;
}

export function testBackends(): TestBackend[] {
  const backends: TestBackend[] = [
    {
      name: 'sqlite',
      async create() {
        const dir = mkdtempSync(join(tmpdir(), 'onbehalf-store-'));
        return {
          config: { kind: 'sqlite', file: join(dir, 'test.sqlite') },
          async cleanup() {
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    },
  ];
  const url = process.env['TEST_DATABASE_URL'];
  if (url) {
    backends.push({
      name: 'postgres',
      async create() {
        // A fresh database per place, not just a schema: Kysely's migrator introspects every schema of its
        // database, and a schema that another test file drops at that moment fails the introspection.
        const name = `t_${randomBytes(6).toString('hex')}`;
        const admin = async (statement: string) => {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            await client.query(statement);
          } finally {
            await client.end();
          }
        };
        await admin(`create database ${name}`);
        const u = new URL(url);
        u.pathname = `/${name}`;
        return {
          // A non-default schema inside it, so ONBEHALF_DATABASE_SCHEMA stays covered.
          config: { kind: 'postgres', url: u.href, schema: 'onbehalf_test', poolSize: 4 },
          async cleanup() {
            await admin(`drop database if exists ${name} with (force)`);
          },
        };
      },
    });
  }
  return backends;
}

/** True when CI demanded PostgreSQL: then its absence is a failure, not a silent skip. */
export function postgresRequired(): boolean {
  return process.env['REQUIRE_POSTGRES'] === '1';
}

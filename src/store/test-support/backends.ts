import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../../config.js';

/**
 * The backends every store contract test runs against: SQLite always, PostgreSQL when TEST_DATABASE_URL
 * is set (CI starts a real server). Each backend gets a fresh place (a temp file, a fresh schema) and
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
        const schema = `t_${randomBytes(6).toString('hex')}`;
        return {
          config: { kind: 'postgres', url, schema, poolSize: 4 },
          async cleanup() {
            const client = new pg.Client({ connectionString: url });
            await client.connect();
            try {
              await client.query(`drop schema if exists ${schema} cascade`);
            } finally {
              await client.end();
            }
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

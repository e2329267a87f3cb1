import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import type { Store } from './create-store.js';
import { hashToken, newId, newSecretToken } from './ids.js';
import type { ApiKeysTable } from './schema.js';

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  /** Sites (cloud ids or site keys) the key is limited to; null = all sites. */
  sites: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface ApiKeysRepo {
  /** Returns the key itself exactly once; only its hash is stored. */
  create(input: { name: string; sites?: string[] | null }): Promise<{ apiKey: ApiKey; secret: string }>;
  list(options?: { includeRevoked?: boolean }): Promise<ApiKey[]>;
  /** Revokes by id or by name; false when nothing live matched. */
  revoke(idOrName: string): Promise<boolean>;
  /** The live key a presented secret belongs to, or undefined. */
  verify(secret: string): Promise<ApiKey | undefined>;
}

const KEY_PREFIX = 'obk';

export function createApiKeysRepo(deps: { store: Store; clock: Clock }): ApiKeysRepo {
  const { db } = deps.store;
  return {
    async create(input) {
      const name = input.name.trim();
      if (!/^[\w .:@-]{1,100}$/.test(name)) {
        throw new GatewayError('VALIDATION_FAILED', 'An API key name must be 1-100 letters, digits, spaces or . _ : @ -.', { details: { field: 'name' } });
      }
      const sites = input.sites && input.sites.length > 0 ? [...new Set(input.sites)] : null;
      const secret = newSecretToken(KEY_PREFIX);
      const row: ApiKeysTable = {
        id: newId(),
        name,
        prefix: secret.slice(0, KEY_PREFIX.length + 7),
        key_hash: hashToken(secret),
        sites: sites ? JSON.stringify(sites) : null,
        created_at: deps.clock.now(),
        last_used_at: null,
        revoked_at: null,
      };
      await db.insertInto('api_keys').values(row).execute();
      return { apiKey: toApiKey(row), secret };
    },
    async list(options = {}) {
      let q = db.selectFrom('api_keys').selectAll().orderBy('created_at');
      if (!options.includeRevoked) q = q.where('revoked_at', 'is', null);
      return (await q.execute()).map(toApiKey);
    },
    async revoke(idOrName) {
      const r = await db
        .updateTable('api_keys')
        .set({ revoked_at: deps.clock.now() })
        .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
        .where('revoked_at', 'is', null)
        .returning('id')
        .execute();
      for (const { id } of r) deps.store.changes.publish({ kind: 'apiKey', id });
      return r.length > 0;
    },
    async verify(secret) {
      if (!secret.startsWith(`${KEY_PREFIX}_`)) return undefined;
      const row = await db.selectFrom('api_keys').selectAll().where('key_hash', '=', hashToken(secret)).where('revoked_at', 'is', null).executeTakeFirst();
      if (!row) return undefined;
      const now = deps.clock.now();
      // A write per request would put the database on every API call's path; a minute's precision is plenty.
      if (row.last_used_at === null || now - row.last_used_at > 60_000) {
        await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', row.id).execute();
        row.last_used_at = now;
      }
      return toApiKey(row);
    },
  };
}

function toApiKey(row: ApiKeysTable): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    sites: row.sites ? (JSON.parse(row.sites) as string[]) : null,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

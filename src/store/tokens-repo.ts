import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';
import { newId } from './ids.js';
import type { SecretBox } from './secret-box.js';
import { secretContext, type Database, type TenantRoute, type TokenKind, type TokensTable } from './schema.js';

/** Every tenant dimension of a stored token: a key missing one of them would hand one tenant another's token. */
export interface TokenKey {
  route: TenantRoute;
  appKey: string;
  tenantKey: string;
  accountId: string;
  kind: TokenKind;
  scopeKey: string;
}

export interface StoredToken extends TokenKey {
  id: string;
  /** Decrypted. */
  token: string;
  previousToken: string | null;
  expiresAt: number | null;
  version: number;
  updatedAt: number;
}

export interface TokensRepo {
  get(key: TokenKey): Promise<StoredToken | undefined>;
  /**
   * Writes a token. With `expectVersion` it is a compare-and-set: it writes only if the stored version is
   * still that one and returns false otherwise, so two refreshers cannot both win.
   */
  put(key: TokenKey, value: { token: string; previousToken?: string | null; expiresAt: number | null }, options?: { expectVersion?: number }): Promise<boolean>;
  deleteForTenant(route: TenantRoute, appKey: string, tenantKey: string): Promise<number>;
  deleteForAccount(route: TenantRoute, appKey: string, accountId: string): Promise<number>;
  /** How many tokens of a route and kind are stored (3LO grants = refresh tokens), for the admin overview. */
  count(route: TenantRoute, kind: TokenKind): Promise<number>;
  /**
   * The same operations, run on `executor`: a transaction (see `writeTransaction`) that the caller has
   * already opened and will commit. `put` then opens no transaction of its own, so several writes commit
   * or roll back together.
   */
  inTransaction(executor: Kysely<Database>): TokensRepo;
}

const TOKEN = { table: 'tokens', column: 'token' } as const;
const PREVIOUS = { table: 'tokens', column: 'previous_token' } as const;

export function createTokensRepo(deps: { store: Store; box: SecretBox; clock: Clock }): TokensRepo {
  return tokensRepoOn(deps.store.db, deps, false);
}

function tokensRepoOn(db: Kysely<Database>, deps: { box: SecretBox; clock: Clock }, insideTransaction: boolean): TokensRepo {
  const where = (key: TokenKey) =>
    db
      .selectFrom('tokens')
      .selectAll()
      .where('route', '=', key.route)
      .where('app_key', '=', key.appKey)
      .where('tenant_key', '=', key.tenantKey)
      .where('account_id', '=', key.accountId)
      .where('kind', '=', key.kind)
      .where('scope_key', '=', key.scopeKey);

  const open = (row: TokensTable): StoredToken => ({
    id: row.id,
    route: row.route,
    appKey: row.app_key,
    tenantKey: row.tenant_key,
    accountId: row.account_id,
    kind: row.kind,
    scopeKey: row.scope_key,
    token: deps.box.open(row.token, secretContext(TOKEN, row.id)),
    previousToken: row.previous_token === null ? null : deps.box.open(row.previous_token, secretContext(PREVIOUS, row.id)),
    expiresAt: row.expires_at,
    version: row.version,
    updatedAt: row.updated_at,
  });

  return {
    async get(key) {
      const row = await where(key).executeTakeFirst();
      return row && open(row);
    },
    async put(key, value, options = {}) {
      const now = deps.clock.now();
      const write = async (tx: Kysely<Database>) => {
        const existing = await tx
          .selectFrom('tokens')
          .select(['id', 'version'])
          .where('route', '=', key.route)
          .where('app_key', '=', key.appKey)
          .where('tenant_key', '=', key.tenantKey)
          .where('account_id', '=', key.accountId)
          .where('kind', '=', key.kind)
          .where('scope_key', '=', key.scopeKey)
          .executeTakeFirst();
        if (options.expectVersion !== undefined && (existing?.version ?? 0) !== options.expectVersion) return false;
        const id = existing?.id ?? newId();
        const sealed = {
          token: deps.box.seal(value.token, secretContext(TOKEN, id)),
          previous_token: value.previousToken ? deps.box.seal(value.previousToken, secretContext(PREVIOUS, id)) : null,
          expires_at: value.expiresAt,
          updated_at: now,
        };
        if (existing) {
          const result = await tx
            .updateTable('tokens')
            .set({ ...sealed, version: existing.version + 1 })
            .where('id', '=', id)
            .where('version', '=', existing.version)
            .executeTakeFirst();
          return Number(result.numUpdatedRows) === 1;
        }
        await tx
          .insertInto('tokens')
          .values({
            id,
            route: key.route,
            app_key: key.appKey,
            tenant_key: key.tenantKey,
            account_id: key.accountId,
            kind: key.kind,
            scope_key: key.scopeKey,
            version: 1,
            created_at: now,
            last_used_at: null,
            ...sealed,
          })
          .execute();
        return true;
      };
      return insideTransaction ? write(db) : db.transaction().execute(write);
    },
    async deleteForTenant(route, appKey, tenantKey) {
      const r = await db.deleteFrom('tokens').where('route', '=', route).where('app_key', '=', appKey).where('tenant_key', '=', tenantKey).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async deleteForAccount(route, appKey, accountId) {
      const r = await db.deleteFrom('tokens').where('route', '=', route).where('app_key', '=', appKey).where('account_id', '=', accountId).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async count(route, kind) {
      const r = await db.selectFrom('tokens').select((eb) => eb.fn.countAll<string | number>().as('n')).where('route', '=', route).where('kind', '=', kind).executeTakeFirstOrThrow();
      return Number(r.n);
    },
    inTransaction(executor) {
      return tokensRepoOn(executor, deps, true);
    },
  };
}

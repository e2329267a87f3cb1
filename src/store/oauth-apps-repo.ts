import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';
import { newId } from './ids.js';
import type { SecretBox } from './secret-box.js';
import { secretContext, type OauthAppsTable } from './schema.js';

export interface OauthApp {
  id: string;
  clientId: string;
  /** Decrypted. */
  clientSecret: string;
  redirectUri: string;
  scopes: string[];
  source: OauthAppsTable['source'];
}

export interface OauthAppsRepo {
  upsert(app: Omit<OauthApp, 'id'>): Promise<OauthApp>;
  findByClientId(clientId: string): Promise<OauthApp | undefined>;
  list(): Promise<OauthApp[]>;
}

const SECRET = { table: 'oauth_apps', column: 'client_secret' } as const;

export function createOauthAppsRepo(deps: { store: Store; box: SecretBox; clock: Clock }): OauthAppsRepo {
  const { db } = deps.store;
  const open = (row: OauthAppsTable): OauthApp => ({
    id: row.id,
    clientId: row.client_id,
    clientSecret: deps.box.open(row.client_secret, secretContext(SECRET, row.id)),
    redirectUri: row.redirect_uri,
    scopes: row.scopes.split(' ').filter((s) => s !== ''),
    source: row.source,
  });
  const repo: OauthAppsRepo = {
    async upsert(app) {
      const now = deps.clock.now();
      await db.transaction().execute(async (tx) => {
        const existing = await tx.selectFrom('oauth_apps').select('id').where('client_id', '=', app.clientId).executeTakeFirst();
        const id = existing?.id ?? newId();
        const values = {
          client_secret: deps.box.seal(app.clientSecret, secretContext(SECRET, id)),
          redirect_uri: app.redirectUri,
          scopes: app.scopes.join(' '),
          source: app.source,
          updated_at: now,
        };
        if (existing) await tx.updateTable('oauth_apps').set(values).where('id', '=', id).execute();
        else await tx.insertInto('oauth_apps').values({ id, client_id: app.clientId, created_at: now, ...values }).execute();
      });
      const stored = await repo.findByClientId(app.clientId);
      if (!stored) throw new Error('oauth app vanished after upsert');
      return stored;
    },
    async findByClientId(clientId) {
      const row = await db.selectFrom('oauth_apps').selectAll().where('client_id', '=', clientId).executeTakeFirst();
      return row && open(row);
    },
    async list() {
      return (await db.selectFrom('oauth_apps').selectAll().orderBy('created_at').execute()).map(open);
    },
  };
  return repo;
}

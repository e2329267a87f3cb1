import { sql, type SqlBool } from 'kysely';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import type { Store } from './create-store.js';
import { newId } from './ids.js';
import { reusableQuery } from './reusable-query.js';
import type { Database, LinkRoute, LinkStatus, LinksTable } from './schema.js';
import { isUniqueViolation } from './unique-violation.js';

export interface Link {
  id: string;
  externalUserId: string;
  cloudId: string;
  accountId: string;
  tenantId: string | null;
  route: LinkRoute;
  scopes: string[];
  status: LinkStatus;
  statusReason: string | null;
  evidence: Record<string, unknown>;
  createdAt: number;
  verifiedAt: number | null;
  updatedAt: number;
  revokedAt: number | null;
  sessionId: string | null;
}

/** What deciding whether to act as a user needs of a live link (the hot reads keep only this in memory). */
export type LiveLink = Pick<Link, 'id' | 'externalUserId' | 'cloudId' | 'accountId' | 'tenantId' | 'route' | 'status' | 'statusReason'> & { readonly scopes: readonly string[] };

export type NewLink = Pick<Link, 'externalUserId' | 'cloudId' | 'accountId' | 'route' | 'scopes' | 'status' | 'evidence'> & { tenantId?: string | null; sessionId?: string | null };

export interface LinkQuery {
  externalUserId?: string;
  accountId?: string;
  cloudId?: string;
  sessionId?: string;
  route?: LinkRoute;
  status?: LinkStatus | LinkStatus[];
  /** Links of this user OR of any of these accounts (the admin console's one search box). */
  who?: { externalUserId?: string; accountIds?: readonly string[] };
  limit?: number;
  /** Rows to skip, for paging (newest first). */
  offset?: number;
}

const LIVE: LinkStatus[] = ['pending_confirmation', 'linked', 'reauth_required'];
const LIVE_LITERALS = LIVE.map((s) => sql.lit(s));

export interface LinksRepo {
  /** Inserts a link; a live link for the same account or the same user on the site is LINK_CONFLICT. */
  create(link: NewLink): Promise<Link>;
  get(id: string): Promise<Link | undefined>;
  /** The live link of an account on a site, if any. */
  liveForAccount(cloudId: string, accountId: string): Promise<Link | undefined>;
  /** The live link of one of your users on a site, if any. */
  liveForUser(cloudId: string, externalUserId: string): Promise<Link | undefined>;
  list(q?: LinkQuery): Promise<Link[]>;
  /** Moves a link to a status; with `from`, only if it is still in one of those (a compare-and-set). */
  /** `route` and `tenantId` change together: a re-consent through another route moves the link onto it. */
  setStatus(id: string, to: LinkStatus, options?: { reason?: string | null; from?: LinkStatus[]; evidence?: Record<string, unknown>; scopes?: string[]; route?: { route: LinkRoute; tenantId: string | null } }): Promise<boolean>;
  /** Counts by status, for metrics and the admin overview. */
  countByStatus(): Promise<Record<string, number>>;
  /** Counts by installation and status (links with no installation are left out), for the console. */
  countByTenant(): Promise<Record<string, Record<string, number>>>;
  /**
   * A site's Connect install became the Forge version (Connect-on-Forge): in one transaction its links made
   * by consent on the Connect page move to route `forge` on the Forge installation, and its admin-mapped
   * links (route kept, the mapping is their evidence) to that installation. Status and evidence are kept.
   */
  moveToForge(cloudId: string, forgeTenantId: string): Promise<{ consented: number; adminMapped: number }>;
}

export function createLinksRepo(deps: { store: Store; clock: Clock }): LinksRepo {
  const { db } = deps.store;
  const select = () => db.selectFrom('links').selectAll();
  // Read on every act-as call that misses the hot reads' memory, so this one is compiled once. The
  // live statuses are written into the SQL as literals: only then can SQLite use the partial unique index
  // on live links (a bound IN list cannot be proven to match the index's condition). That index is unique,
  // so there is at most one row (a LIMIT would only add a bound parameter, which measured slower).
  const liveForUser = reusableQuery<Database, LinksTable, [string, string]>(db, 2, (cloudId, externalUserId) =>
    select()
      .where('cloud_id', '=', cloudId as string)
      .where('external_user_id', '=', externalUserId as string)
      .where('status', 'in', LIVE_LITERALS),
  );
  const repo: LinksRepo = {
    async create(link) {
      const now = deps.clock.now();
      const row: LinksTable = {
        id: newId(),
        external_user_id: link.externalUserId,
        cloud_id: link.cloudId,
        account_id: link.accountId,
        tenant_id: link.tenantId ?? null,
        route: link.route,
        scopes: link.scopes.join(' '),
        status: link.status,
        status_reason: null,
        evidence: JSON.stringify(link.evidence),
        created_at: now,
        verified_at: link.status === 'linked' ? now : null,
        updated_at: now,
        revoked_at: null,
        session_id: link.sessionId ?? null,
      };
      try {
        await db.insertInto('links').values(row).execute();
        // Absence is never remembered, so a new link needs no notice; published anyway, as it costs nothing.
        deps.store.changes.publish({ kind: 'link', cloudId: row.cloud_id, externalUserId: row.external_user_id, accountId: row.account_id });
      } catch (e) {
        if (isUniqueViolation(e)) {
          throw new GatewayError('LINK_CONFLICT', 'This account, or this user, already has a link on this site. An admin must resolve it; nothing was overwritten.', {
            details: { cloudId: link.cloudId, accountId: link.accountId, externalUserId: link.externalUserId },
            cause: e,
          });
        }
        throw e;
      }
      return toLink(row);
    },
    async get(id) {
      const r = await select().where('id', '=', id).executeTakeFirst();
      return r && toLink(r);
    },
    async liveForAccount(cloudId, accountId) {
      const r = await select().where('cloud_id', '=', cloudId).where('account_id', '=', accountId).where('status', 'in', LIVE_LITERALS).executeTakeFirst();
      return r && toLink(r);
    },
    async liveForUser(cloudId, externalUserId) {
      const [r] = await liveForUser(cloudId, externalUserId);
      return r && toLink(r);
    },
    async list(q = {}) {
      let s = select().orderBy('created_at', 'desc').orderBy('id').limit(Math.min(Math.max(q.limit ?? 100, 1), 1000));
      if (q.externalUserId) s = s.where('external_user_id', '=', q.externalUserId);
      if (q.accountId) s = s.where('account_id', '=', q.accountId);
      if (q.cloudId) s = s.where('cloud_id', '=', q.cloudId);
      if (q.sessionId) s = s.where('session_id', '=', q.sessionId);
      if (q.route) s = s.where('route', '=', q.route);
      if (q.status) s = s.where('status', 'in', Array.isArray(q.status) ? q.status : [q.status]);
      if (q.who) {
        const who = q.who;
        s = s.where((eb) =>
          eb.or([
            ...(who.externalUserId !== undefined ? [eb('external_user_id', '=', who.externalUserId)] : []),
            ...(who.accountIds && who.accountIds.length > 0 ? [eb('account_id', 'in', [...who.accountIds])] : []),
            // Nothing to match means no rows, never every row.
            sql<SqlBool>`1 = 0`,
          ]),
        );
      }
      if (q.offset) s = s.offset(q.offset);
      return (await s.execute()).map(toLink);
    },
    async setStatus(id, to, options = {}) {
      const now = deps.clock.now();
      let u = db
        .updateTable('links')
        .set({
          status: to,
          status_reason: options.reason ?? null,
          updated_at: now,
          ...(to === 'linked' ? { verified_at: now } : {}),
          ...(to === 'revoked' ? { revoked_at: now } : {}),
          ...(options.evidence ? { evidence: JSON.stringify(options.evidence) } : {}),
          ...(options.scopes ? { scopes: options.scopes.join(' ') } : {}),
          ...(options.route ? { route: options.route.route, tenant_id: options.route.tenantId } : {}),
        })
        .where('id', '=', id);
      if (options.from) u = u.where('status', 'in', options.from);
      // The keys come back with the update, so the hot reads drop exactly this link's entries.
      const r = await u.returning(['cloud_id', 'external_user_id', 'account_id']).executeTakeFirst();
      if (!r) return false;
      deps.store.changes.publish({ kind: 'link', cloudId: r.cloud_id, externalUserId: r.external_user_id, accountId: r.account_id });
      return true;
    },
    async countByTenant() {
      const rows = await db
        .selectFrom('links')
        .select(['tenant_id', 'status', (eb) => eb.fn.countAll<string | number>().as('n')])
        .where('tenant_id', 'is not', null)
        .groupBy(['tenant_id', 'status'])
        .execute();
      const out: Record<string, Record<string, number>> = {};
      for (const r of rows) (out[r.tenant_id as string] ??= {})[r.status] = Number(r.n);
      return out;
    },
    async moveToForge(cloudId, forgeTenantId) {
      const now = deps.clock.now();
      const keys = ['cloud_id', 'external_user_id', 'account_id'] as const;
      const moved = await db.transaction().execute(async (tx) => {
        const consented = await tx.updateTable('links').set({ route: 'forge', tenant_id: forgeTenantId, updated_at: now }).where('cloud_id', '=', cloudId).where('route', '=', 'connect').returning(keys).execute();
        const adminMapped = await tx
          .updateTable('links')
          .set({ tenant_id: forgeTenantId, updated_at: now })
          .where('cloud_id', '=', cloudId)
          .where('route', '=', 'admin')
          .where((eb) => eb.or([eb('tenant_id', 'is', null), eb('tenant_id', '!=', forgeTenantId)]))
          .returning(keys)
          .execute();
        return { consented, adminMapped };
      });
      // After the commit: a remembered link must not keep acting through the Connect route it left.
      deps.store.changes.publish([...moved.consented, ...moved.adminMapped].map((r) => ({ kind: 'link' as const, cloudId: r.cloud_id, externalUserId: r.external_user_id, accountId: r.account_id })));
      return { consented: moved.consented.length, adminMapped: moved.adminMapped.length };
    },
    async countByStatus() {
      const rows = await db.selectFrom('links').select(['status', (eb) => eb.fn.countAll<string | number>().as('n')]).groupBy('status').execute();
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    },
  };
  return repo;
}

function toLink(r: LinksTable): Link {
  return {
    id: r.id,
    externalUserId: r.external_user_id,
    cloudId: r.cloud_id,
    accountId: r.account_id,
    tenantId: r.tenant_id,
    route: r.route,
    scopes: r.scopes.split(' ').filter((s) => s !== ''),
    status: r.status,
    statusReason: r.status_reason,
    evidence: JSON.parse(r.evidence) as Record<string, unknown>,
    createdAt: r.created_at,
    verifiedAt: r.verified_at,
    updatedAt: r.updated_at,
    revokedAt: r.revoked_at,
    sessionId: r.session_id,
  };
}

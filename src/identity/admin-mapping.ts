import { GatewayError } from '../errors.js';
import type { ActAsClient } from '../confluence/create-act-as-client.js';
import type { Link } from '../store/links-repo.js';
import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';
import type { Links } from './links.js';

export interface FoundUser {
  accountId: string;
  displayName: string;
  email: string | null;
  /** Your user the account is linked to on this site, if any. */
  linkedTo: string | null;
}

export interface Mapping {
  externalUserId: string;
  accountId: string;
}

export interface MappingResult {
  mapped: number;
  failed: number;
  errors: string[];
}

const EXTERNAL_ID = /^[\x21-\x7e]{1,200}$/;
const ACCOUNT_ID = /^[A-Za-z0-9:_-]{1,128}$/;
export const MAX_MAPPINGS = 1000;

/**
 * Admin mapping, shared by the configure page inside Confluence, the admin console and the HTTP API: find a
 * site's users (through Confluence's user search, as the app: a Connect JWT, or on a Forge site the app
 * system token), and map accounts that really exist on the site to your users, one by one or in bulk.
 * Never by name: an admin picks the account.
 */
export function createAdminMapping(deps: {
  repos: Repositories;
  links: Links;
  /** Confluence as the app on this installation (Connect: JWT-signed; Forge: the app system token). */
  asApp: (tenant: Tenant) => Pick<ActAsClient, 'fetch'>;
}) {
  async function accountExists(tenant: Tenant, accountId: string): Promise<boolean> {
    const res = await deps.asApp(tenant).fetch(`/rest/api/user?accountId=${encodeURIComponent(accountId)}`);
    if (res.status === 404) return false;
    if (!res.ok) throw new GatewayError('ATLASSIAN_ERROR', `Could not check account ${accountId} (HTTP ${res.status}).`);
    return ((await res.json()) as { accountType?: string }).accountType !== 'app';
  }

  async function mapOne(tenant: Tenant, cloudId: string, admin: { id: string; kind: 'atlassian' | 'console' | 'api_key' }, m: Mapping): Promise<Link> {
    if (!EXTERNAL_ID.test(m.externalUserId)) throw new GatewayError('VALIDATION_FAILED', `"${m.externalUserId.slice(0, 50)}" is not a valid user ID (1-200 printable characters, no spaces).`);
    if (!ACCOUNT_ID.test(m.accountId)) throw new GatewayError('VALIDATION_FAILED', `"${m.accountId.slice(0, 50)}" is not an Atlassian account ID.`);
    if (!(await accountExists(tenant, m.accountId))) throw new GatewayError('NOT_FOUND', `There is no user ${m.accountId} on this site.`);
    return deps.links.adminMap({ cloudId, accountId: m.accountId, externalUserId: m.externalUserId, tenantId: tenant.id, adminId: admin.id, adminKind: admin.kind });
  }

  /**
   * Why each mapping would fail, without changing anything (null = it would succeed): bad IDs, an account
   * that is not on the site, a user or an account named twice in the batch, or a live link in the way.
   * An import checks every line first and maps nothing unless all pass.
   */
  async function check(tenant: Tenant, cloudId: string, mappings: readonly Mapping[]): Promise<(string | null)[]> {
    const users = new Map<string, number>();
    const accounts = new Map<string, number>();
    for (const m of mappings) {
      users.set(m.externalUserId, (users.get(m.externalUserId) ?? 0) + 1);
      accounts.set(m.accountId, (accounts.get(m.accountId) ?? 0) + 1);
    }
    const out: (string | null)[] = [];
    for (const m of mappings) {
      if (!EXTERNAL_ID.test(m.externalUserId)) out.push(`"${m.externalUserId.slice(0, 50)}" is not a valid user ID (1-200 printable characters, no spaces).`);
      else if (!ACCOUNT_ID.test(m.accountId)) out.push(`"${m.accountId.slice(0, 50)}" is not an Atlassian account ID.`);
      else if ((users.get(m.externalUserId) ?? 0) > 1) out.push(`user ${m.externalUserId} appears on more than one line.`);
      else if ((accounts.get(m.accountId) ?? 0) > 1) out.push(`account ${m.accountId} appears on more than one line.`);
      else {
        const byAccount = await deps.repos.links.liveForAccount(cloudId, m.accountId);
        const byUser = await deps.repos.links.liveForUser(cloudId, m.externalUserId);
        if (byAccount && byAccount.externalUserId !== m.externalUserId) out.push(`account ${m.accountId} is already linked to user ${byAccount.externalUserId}; revoke that link first.`);
        else if (byUser && byUser.accountId !== m.accountId) out.push(`user ${m.externalUserId} is already linked to account ${byUser.accountId}; revoke that link first.`);
        else if (!(await accountExists(tenant, m.accountId))) out.push(`there is no user ${m.accountId} on this site.`);
        else out.push(null);
      }
    }
    return out;
  }

  return {
    check,

    async search(tenant: Tenant, cloudId: string, query: string): Promise<FoundUser[]> {
      const q = query.trim().slice(0, 100);
      if (q.length < 2) throw new GatewayError('VALIDATION_FAILED', 'Type at least two characters.');
      const cql = `user.fullname~"${q.replace(/["\\]/g, '')}"`;
      const res = await deps.asApp(tenant).fetch(`/rest/api/search/user?cql=${encodeURIComponent(cql)}&limit=25`);
      if (!res.ok) throw new GatewayError('ATLASSIAN_ERROR', `User search answered HTTP ${res.status}.`);
      const body = (await res.json()) as { results?: { user?: { accountId?: string; displayName?: string; email?: string | null; accountType?: string } }[] };
      const out: FoundUser[] = [];
      for (const r of body.results ?? []) {
        const u = r.user;
        if (!u?.accountId || u.accountType === 'app') continue;
        const link = await deps.repos.links.liveForAccount(cloudId, u.accountId);
        out.push({ accountId: u.accountId, displayName: u.displayName ?? u.accountId, email: u.email || null, linkedTo: link?.externalUserId ?? null });
        // Admins pick from accounts really seen: search results join the directory too.
        await deps.repos.knownAccounts.record({ cloudId, accountId: u.accountId, source: 'admin:search', displayName: u.displayName ?? null, email: u.email || null });
      }
      return out;
    },

    mapOne,

    /** Several mappings; each one succeeds or fails on its own, with the reason. */
    async mapMany(tenant: Tenant, cloudId: string, admin: { id: string; kind: 'atlassian' | 'console' | 'api_key' }, mappings: Mapping[]): Promise<MappingResult> {
      if (mappings.length > MAX_MAPPINGS) throw new GatewayError('PAYLOAD_TOO_LARGE', `At most ${MAX_MAPPINGS} mappings at a time.`);
      let mapped = 0;
      const errors: string[] = [];
      for (const [i, m] of mappings.entries()) {
        try {
          await mapOne(tenant, cloudId, admin, m);
          mapped++;
        } catch (e) {
          errors.push(`#${i + 1}: ${e instanceof GatewayError ? e.message : 'failed'}`);
        }
      }
      return { mapped, failed: errors.length, errors: errors.slice(0, 50) };
    },
  };
}

export type AdminMapping = ReturnType<typeof createAdminMapping>;

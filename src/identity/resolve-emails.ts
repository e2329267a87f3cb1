import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ConnectActAs } from '../broker/connect-act-as.js';
import type { Link } from '../store/links-repo.js';
import type { Repositories } from '../store/repositories.js';
import { findTenant } from '../tenants/find-tenant.js';
import type { Tenant } from '../store/tenants-repo.js';
import type { ForgeEmailIndex } from './forge-email-index.js';
import type { LinkSessions } from './link-sessions.js';

export interface ResolveInput {
  site: string;
  users: { email: string; externalUserId?: string }[];
}

export type Resolution =
  | { email: string; status: 'resolved'; accountId: string; via: 'oauth_me' | 'email_api' | 'email_index' | 'link'; externalUserId: string | null }
  | { email: string; status: 'unresolved'; reason: string; linkUrl: string | null; linkSessionId: string | null };

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const BULK = 100;

/**
 * Email -> Atlassian account, only from evidence, in this order: a user you named who is already linked
 * here (that link); an email a 3LO `/me` verified for a linked user; on a site with the Forge app, the
 * site's email index (user search + the email API as the app, kept as keyed hashes, see
 * forge-email-index.ts), which covers hidden emails too; on a site with the Connect app, Confluence's
 * `/user/email/bulk` over accounts already seen, which answers only apps Atlassian approved for email
 * access. A site with both asks the Forge index first and the Connect email API for what is still missing.
 * Never a display-name match, and an email two accounts share in the index is left unresolved. What cannot
 * be resolved comes back with a link session URL (when you named your user) to send to that person.
 */
export function createEmailResolver(deps: {
  repos: Repositories;
  actAs: ConnectActAs;
  linkSessions: LinkSessions;
  logger: Logger;
  appKey: string;
  /** The Forge route's email index, when the gateway is a Forge remote. */
  forge?: { appId: string; index: ForgeEmailIndex } | null;
}) {
  /** The site's Connect install and Forge installation (active ones), at least one of them. */
  async function sitesTenants(site: string): Promise<{ connect: Tenant | null; forge: Tenant | null; cloudId: string }> {
    const any = await findTenant(deps.repos, site);
    const cloudId = any.cloudId;
    if (!cloudId) throw new GatewayError('ATLASSIAN_UNAVAILABLE', `The cloud id of ${any.baseUrl} is not known yet.`);
    let connectError: unknown;
    const connect = await findTenant(deps.repos, cloudId, { route: 'connect', appKey: deps.appKey }).catch((e: unknown) => {
      connectError = e;
      return null;
    });
    const forge = deps.forge ? await findTenant(deps.repos, cloudId, { route: 'forge', appKey: deps.forge.appId }).catch(() => null) : null;
    if (!connect && !forge) throw connectError;
    return { connect, forge, cloudId };
  }

  /**
   * Brings a Forge site's index up to date enough to answer: accounts waiting for the email API, and (until
   * a first pass over the site's users is done) one bounded step of it. Throws when that is needed and
   * fails (no system token, email API refused) and no Connect install could answer instead: an empty index
   * would otherwise answer "unknown" for all.
   */
  async function readyForgeIndex(tenant: Tenant, cloudId: string, index: ForgeEmailIndex, connectToo: boolean): Promise<'complete' | 'building' | 'stale' | 'failed'> {
    const state = await index.site(cloudId);
    const built = state?.lastPassAt != null;
    try {
      await index.refresh(tenant, { enumerate: !built });
    } catch (e) {
      const code = e instanceof GatewayError ? e.code : 'INTERNAL';
      // With a Connect install too, its email API may still answer; alone, the failure is the answer.
      if (!built && !connectToo) throw e;
      deps.logger.warn({ site: tenant.baseUrl, code }, built ? 'the Forge email index could not be refreshed; answering from what it holds' : 'the Forge email index could not be built; trying the Connect email API');
      return built ? 'stale' : 'failed';
    }
    return (await index.site(cloudId))?.lastPassAt != null ? 'complete' : 'building';
  }

  return async function resolve(input: ResolveInput & { apiKeyId?: string | null }): Promise<Resolution[]> {
    if (input.users.length === 0 || input.users.length > 1000) throw new GatewayError('VALIDATION_FAILED', 'Resolve between 1 and 1000 emails at a time.', { details: { field: 'users' } });
    for (const u of input.users) {
      if (!EMAIL.test(u.email)) throw new GatewayError('VALIDATION_FAILED', `"${u.email.slice(0, 80)}" is not an email address.`, { details: { field: 'email' } });
    }
    const { connect: tenant, forge, cloudId } = await sitesTenants(input.site);
    // A user you named who is already linked here is answered with that link, whatever the email evidence
    // says: a new link session would only ask them to link again (and the email API need not be asked).
    const linkedUsers = new Map<string, Link>();
    for (const u of input.users) {
      if (!u.externalUserId || linkedUsers.has(u.externalUserId)) continue;
      const link = await deps.repos.links.liveForUser(cloudId, u.externalUserId);
      if (link?.status === 'linked') linkedUsers.set(u.externalUserId, link);
    }
    const wanted = new Set(input.users.filter((u) => !(u.externalUserId && linkedUsers.has(u.externalUserId))).map((u) => u.email.toLowerCase()));
    const found = new Map<string, { accountId: string; via: 'oauth_me' | 'email_api' | 'email_index' }>();
    const ambiguous = new Set<string>();

    // 1. Emails verified by a 3LO /me for users linked on this site.
    for (const link of await deps.repos.links.list({ cloudId, status: 'linked', limit: 1000 })) {
      const e = link.evidence['email'];
      if (link.route === 'oauth' && typeof e === 'string' && link.evidence['emailVerified'] !== false && wanted.has(e.toLowerCase())) {
        found.set(e.toLowerCase(), { accountId: link.accountId, via: 'oauth_me' });
      }
    }

    // 2. The Forge email index: every user of the site, hidden emails included.
    let emailIndex: 'complete' | 'building' | 'stale' | 'failed' | 'skipped' = 'skipped';
    const forgeWanted = [...wanted].filter((e) => !found.has(e));
    if (forge && deps.forge && forgeWanted.length > 0) {
      emailIndex = await readyForgeIndex(forge, cloudId, deps.forge.index, tenant !== null);
      const hits = await deps.forge.index.lookup(cloudId, forgeWanted);
      for (const [email, accounts] of hits) {
        // Two accounts under one email (an address that moved between accounts): no guess.
        if (accounts.length === 1) found.set(email, { accountId: accounts[0] as string, via: 'email_index' });
        else ambiguous.add(email);
      }
    }

    // 3. The Connect email API over accounts seen on this site, when Atlassian approved this app for it.
    const missing = [...wanted].filter((e) => !found.has(e) && !ambiguous.has(e));
    let emailApi: 'used' | 'not_approved' | 'not_enabled' | 'failed' | 'skipped' = 'skipped';
    if (tenant && missing.length > 0) {
      const known = await deps.repos.knownAccounts.list(cloudId, { limit: 1000 });
      emailApi = 'used';
      for (let i = 0; i < known.length && emailApi === 'used'; i += BULK) {
        const ids = known.slice(i, i + BULK).map((k) => k.accountId);
        const res = await deps.actAs.asApp(tenant).fetch(`/rest/api/user/email/bulk?${ids.map((id) => `accountId=${encodeURIComponent(id)}`).join('&')}`);
        if (res.status === 400 || res.status === 403) emailApi = 'not_approved';
        else if (res.status === 501) emailApi = 'not_enabled';
        else if (!res.ok) emailApi = 'failed';
        else {
          for (const r of (await res.json()) as { accountId?: string; email?: string | null }[]) {
            const e = r.email?.toLowerCase();
            if (r.accountId && e && wanted.has(e) && !found.has(e)) found.set(e, { accountId: r.accountId, via: 'email_api' });
          }
        }
        if (emailApi !== 'used') await res.body?.cancel();
      }
      if (emailApi !== 'used') deps.logger.debug({ emailApi, site: tenant.baseUrl }, 'email API not usable for resolution');
    }

    const out: Resolution[] = [];
    for (const u of input.users) {
      const linked = u.externalUserId ? linkedUsers.get(u.externalUserId) : undefined;
      if (linked) {
        out.push({ email: u.email, status: 'resolved', accountId: linked.accountId, via: 'link', externalUserId: linked.externalUserId });
        continue;
      }
      const hit = found.get(u.email.toLowerCase());
      if (hit) {
        const link = await deps.repos.links.liveForAccount(cloudId, hit.accountId);
        out.push({ email: u.email, status: 'resolved', accountId: hit.accountId, via: hit.via, externalUserId: link?.externalUserId ?? null });
        continue;
      }
      // On a Forge site the index speaks for the site's users; the Connect email API's state matters only without it.
      const reason = ambiguous.has(u.email.toLowerCase())
        ? 'ambiguous'
        : emailIndex === 'building'
          ? 'email_index_building'
          : emailIndex !== 'skipped' && emailIndex !== 'failed'
            ? 'no_evidence'
            : emailApi === 'not_approved'
              ? 'email_api_not_approved'
              : emailApi === 'not_enabled'
                ? 'email_api_not_enabled'
                : emailApi === 'failed'
                  ? 'email_api_failed'
                  : 'no_evidence';
      if (u.externalUserId) {
        // The email is not copied into the session: the database keeps no email it was asked about.
        const s = await deps.linkSessions.start({ externalUserId: u.externalUserId, route: 'connect', cloudId, apiKeyId: input.apiKeyId ?? null });
        out.push({ email: u.email, status: 'unresolved', reason, linkUrl: s.url, linkSessionId: s.id });
      } else {
        out.push({ email: u.email, status: 'unresolved', reason, linkUrl: null, linkSessionId: null });
      }
    }
    await deps.repos.audit.append({ action: 'resolve.emails', actorType: input.apiKeyId ? 'api_key' : 'system', actorId: input.apiKeyId ?? null, cloudId, data: { asked: input.users.length, resolved: out.filter((r) => r.status === 'resolved').length, emailApi, emailIndex } });
    return out;
  };
}

export type EmailResolver = ReturnType<typeof createEmailResolver>;

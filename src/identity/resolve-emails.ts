import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ConnectActAs } from '../broker/connect-act-as.js';
import type { Link } from '../store/links-repo.js';
import type { Repositories } from '../store/repositories.js';
import { findTenant } from '../tenants/find-tenant.js';
import type { LinkSessions } from './link-sessions.js';

export interface ResolveInput {
  site: string;
  users: { email: string; externalUserId?: string }[];
}

export type Resolution =
  | { email: string; status: 'resolved'; accountId: string; via: 'oauth_me' | 'email_api' | 'link'; externalUserId: string | null }
  | { email: string; status: 'unresolved'; reason: string; linkUrl: string | null; linkSessionId: string | null };

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const BULK = 100;

/**
 * Email -> Atlassian account, only from evidence: an email a 3LO `/me` verified for a linked user, or
 * Confluence's `/user/email/bulk` over accounts already seen on the site, which answers only apps that
 * Atlassian approved for email access. Never a display-name match. What cannot be resolved comes back
 * with a link session URL (when you named your user) to send to that person.
 */
export function createEmailResolver(deps: { repos: Repositories; actAs: ConnectActAs; linkSessions: LinkSessions; logger: Logger; appKey: string }) {
  return async function resolve(input: ResolveInput & { apiKeyId?: string | null }): Promise<Resolution[]> {
    if (input.users.length === 0 || input.users.length > 1000) throw new GatewayError('VALIDATION_FAILED', 'Resolve between 1 and 1000 emails at a time.', { details: { field: 'users' } });
    for (const u of input.users) {
      if (!EMAIL.test(u.email)) throw new GatewayError('VALIDATION_FAILED', `"${u.email.slice(0, 80)}" is not an email address.`, { details: { field: 'email' } });
    }
    const tenant = await findTenant(deps.repos, input.site, { route: 'connect', appKey: deps.appKey });
    const cloudId = tenant.cloudId;
    if (!cloudId) throw new GatewayError('ATLASSIAN_UNAVAILABLE', `The cloud id of ${tenant.baseUrl} is not known yet.`);
    // A user you named who is already linked here is answered with that link, whatever the email evidence
    // says: a new link session would only ask them to link again (and the email API need not be asked).
    const linkedUsers = new Map<string, Link>();
    for (const u of input.users) {
      if (!u.externalUserId || linkedUsers.has(u.externalUserId)) continue;
      const link = await deps.repos.links.liveForUser(cloudId, u.externalUserId);
      if (link?.status === 'linked') linkedUsers.set(u.externalUserId, link);
    }
    const wanted = new Set(input.users.filter((u) => !(u.externalUserId && linkedUsers.has(u.externalUserId))).map((u) => u.email.toLowerCase()));
    const found = new Map<string, { accountId: string; via: 'oauth_me' | 'email_api' }>();

    // 1. Emails verified by a 3LO /me for users linked on this site.
    for (const link of await deps.repos.links.list({ cloudId, status: 'linked', limit: 1000 })) {
      const e = link.evidence['email'];
      if (link.route === 'oauth' && typeof e === 'string' && link.evidence['emailVerified'] !== false && wanted.has(e.toLowerCase())) {
        found.set(e.toLowerCase(), { accountId: link.accountId, via: 'oauth_me' });
      }
    }

    // 2. The email API over accounts seen on this site, when Atlassian approved this app for it.
    const missing = [...wanted].filter((e) => !found.has(e));
    let emailApi: 'used' | 'not_approved' | 'not_enabled' | 'failed' | 'skipped' = 'skipped';
    if (missing.length > 0) {
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
      const reason =
        emailApi === 'not_approved' ? 'email_api_not_approved' : emailApi === 'not_enabled' ? 'email_api_not_enabled' : emailApi === 'failed' ? 'email_api_failed' : 'no_evidence';
      if (u.externalUserId) {
        const s = await deps.linkSessions.start({ externalUserId: u.externalUserId, route: 'connect', cloudId, emailHint: u.email, apiKeyId: input.apiKeyId ?? null });
        out.push({ email: u.email, status: 'unresolved', reason, linkUrl: s.url, linkSessionId: s.id });
      } else {
        out.push({ email: u.email, status: 'unresolved', reason, linkUrl: null, linkSessionId: null });
      }
    }
    await deps.repos.audit.append({ action: 'resolve.emails', actorType: input.apiKeyId ? 'api_key' : 'system', actorId: input.apiKeyId ?? null, cloudId, data: { asked: input.users.length, resolved: out.filter((r) => r.status === 'resolved').length, emailApi } });
    return out;
  };
}

export type EmailResolver = ReturnType<typeof createEmailResolver>;

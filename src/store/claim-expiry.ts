import type { Clock } from '../clock.js';
import type { LinksRepo } from './links-repo.js';
import type { AuditRepo } from './audit-repo.js';
import type { LinkSessionsRepo } from './link-sessions-repo.js';

interface ClaimRepos {
  links: LinksRepo;
  linkSessions: LinkSessionsRepo;
  audit: AuditRepo;
}

/**
 * Ends every forwarded-link claim whose completion code lapsed: the session becomes `expired`, its
 * `pending_confirmation` links are revoked (reason `confirmation_expired`, one audit entry each), so the
 * account and the user are free again. Idempotent and safe to run from several processes at once: each
 * change is a compare-and-set, and only the process that made it writes the audit entry.
 */
export async function expireStaleClaims(repos: ClaimRepos, now: number): Promise<number> {
  let revoked = 0;
  for (const s of await repos.linkSessions.staleClaims(now)) {
    if (!(await repos.linkSessions.transition(s.id, ['pending_confirmation'], { status: 'expired', completion_code_hash: null }))) continue;
    const held = await repos.links.list({ sessionId: s.id, status: 'pending_confirmation' });
    const legacy = held.length === 0 && s.linkId ? await repos.links.get(s.linkId) : undefined;
    for (const link of legacy?.status === 'pending_confirmation' ? [legacy] : held) {
      if (!(await repos.links.setStatus(link.id, 'revoked', { reason: 'confirmation_expired', from: ['pending_confirmation'] }))) continue;
      revoked++;
      await repos.audit.append({ action: 'link.revoked', actorType: 'system', accountId: link.accountId, externalUserId: link.externalUserId, cloudId: link.cloudId, route: link.route, reason: 'confirmation_expired' });
    }
  }
  return revoked;
}

/**
 * Repositories whose reads of links and link sessions never show a lapsed claim as still pending: each
 * read first ends the claims that lapsed (one indexed query when there are none). Without it a claim
 * stayed `pending_confirmation` in the console and the API, holding the account, until something touched
 * it (issue 15).
 */
export function withClaimExpiry<R extends ClaimRepos>(repos: R, clock: Clock): R {
  const raw = { links: { ...repos.links }, linkSessions: { ...repos.linkSessions }, audit: repos.audit };
  const sweep = () => expireStaleClaims(raw, clock.now());
  const before =
    <A extends unknown[], T>(read: (...args: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      await sweep();
      return read(...args);
    };
  repos.links.get = before(raw.links.get);
  repos.links.list = before(raw.links.list);
  repos.links.countByStatus = before(raw.links.countByStatus);
  repos.linkSessions.get = before(raw.linkSessions.get);
  repos.linkSessions.list = before(raw.linkSessions.list);
  return repos;
}

import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import type { Link, LiveLink } from '../store/links-repo.js';
import type { ActingMode } from '../store/policies-repo.js';
import type { Repositories } from '../store/repositories.js';

export interface RevokeInput {
  linkId: string;
  actorType: 'app' | 'admin' | 'user' | 'api_key' | 'system';
  actorId?: string | null;
  reason?: string;
}

export interface AdminMapInput {
  cloudId: string;
  accountId: string;
  externalUserId: string;
  tenantId?: string | null;
  /** The admin's Atlassian account (from the configure page's signed JWT), or the admin console user. */
  adminId: string;
  adminKind: 'atlassian' | 'console' | 'api_key';
}

/** Called when a link ends, so brokers drop that account's tokens at once. */
export type OnLinkGone = (link: Link) => void | Promise<void>;

/** Whether a link may be acted on under a site's policy, with the reason when not. */
export function linkUsable(link: LiveLink, acting: ActingMode): { ok: true } | { ok: false; code: 'REAUTH_REQUIRED' | 'POLICY_REFUSED' | 'USER_NOT_LINKED'; reason: string } {
  if (link.status === 'reauth_required') return { ok: false, code: 'REAUTH_REQUIRED', reason: link.statusReason ?? 'reauth_required' };
  if (link.status !== 'linked') return { ok: false, code: 'USER_NOT_LINKED', reason: link.status };
  if (link.route === 'admin' && acting === 'linked_only') return { ok: false, code: 'POLICY_REFUSED', reason: 'admin_mapped_links_not_allowed' };
  return { ok: true };
}

export function createLinks(deps: { repos: Repositories; clock: Clock; onLinkGone: OnLinkGone }) {
  const { repos } = deps;
  return {
    list: repos.links.list,
    get: repos.links.get,

    /** Ends a link at once: status revoked, the account's tokens purged, audit and event written. */
    async revoke(input: RevokeInput): Promise<Link> {
      const link = await repos.links.get(input.linkId);
      if (!link) throw new GatewayError('NOT_FOUND', `There is no link ${input.linkId}.`);
      if (link.status === 'revoked') return link;
      await repos.links.setStatus(link.id, 'revoked', { reason: input.reason ?? `revoked_by_${input.actorType}`, from: ['pending_confirmation', 'linked', 'reauth_required'] });
      await deps.onLinkGone(link);
      await repos.audit.append({ action: 'link.revoked', actorType: input.actorType, actorId: input.actorId ?? null, accountId: link.accountId, externalUserId: link.externalUserId, cloudId: link.cloudId, route: link.route, reason: input.reason ?? null, data: { linkId: link.id } });
      await repos.events.append({ type: 'link.revoked', cloudId: link.cloudId, accountId: link.accountId, externalUserId: link.externalUserId, data: { linkId: link.id, by: input.actorType } });
      return (await repos.links.get(link.id)) ?? link;
    },

    /**
     * An admin's mapping of an account they can see (a search of the site's users, or an account seen
     * in a webhook) to one of your users. Recorded as route `admin` with the admin as evidence; usable for
     * acting only where the site's policy allows admin-mapped links.
     */
    async adminMap(input: AdminMapInput): Promise<Link> {
      const byAccount = await repos.links.liveForAccount(input.cloudId, input.accountId);
      if (byAccount) {
        if (byAccount.externalUserId === input.externalUserId) return byAccount;
        await repos.audit.append({ action: 'link.conflicted', actorType: 'admin', actorId: input.adminId, accountId: input.accountId, externalUserId: input.externalUserId, cloudId: input.cloudId, route: 'admin', reason: 'account_linked_to_another_user' });
        throw new GatewayError('LINK_CONFLICT', `Account ${input.accountId} is already linked to user ${byAccount.externalUserId} on this site; revoke that link first.`, {
          details: { linkId: byAccount.id, externalUserId: byAccount.externalUserId },
        });
      }
      const byUser = await repos.links.liveForUser(input.cloudId, input.externalUserId);
      if (byUser) {
        throw new GatewayError('LINK_CONFLICT', `User ${input.externalUserId} is already linked to account ${byUser.accountId} on this site; revoke that link first.`, {
          details: { linkId: byUser.id, accountId: byUser.accountId },
        });
      }
      const link = await repos.links.create({
        externalUserId: input.externalUserId,
        cloudId: input.cloudId,
        accountId: input.accountId,
        tenantId: input.tenantId ?? null,
        route: 'admin',
        scopes: [],
        status: 'linked',
        evidence: { kind: 'admin_mapping', adminId: input.adminId, adminKind: input.adminKind, at: deps.clock.now() },
      });
      await repos.audit.append({ action: 'link.admin_mapped', actorType: 'admin', actorId: input.adminId, accountId: input.accountId, externalUserId: input.externalUserId, cloudId: input.cloudId, route: 'admin', data: { linkId: link.id } });
      await repos.events.append({ type: 'link.linked', cloudId: input.cloudId, accountId: input.accountId, externalUserId: input.externalUserId, data: { linkId: link.id, route: 'admin' } });
      return link;
    },
  };
}

export type Links = ReturnType<typeof createLinks>;

import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import type { Link } from '../store/links-repo.js';
import type { LinkSession } from '../store/link-sessions-repo.js';
import { hashToken, newId, newSecretToken } from '../store/ids.js';
import type { Repositories } from '../store/repositories.js';
import type { LinkRoute } from '../store/schema.js';

export interface StartLinkSessionInput {
  externalUserId: string;
  route: 'connect' | 'oauth';
  /** The site (cloud id) to link on; without one the user picks (Connect) or consents to several (3LO). */
  cloudId?: string | null;
  /** Where the user's browser returns when done; the completion code is added to it. */
  returnUrl?: string | null;
  emailHint?: string | null;
  /**
   * The forwarded-link guard: the link stays `pending_confirmation` until your backend redeems the
   * completion code the user brought back. Opting out is possible per session and is audited.
   */
  requireConfirmation?: boolean;
  apiKeyId?: string | null;
  ttlMs?: number;
}

export interface StartedLinkSession {
  id: string;
  /** The URL to send the user to. It holds the session's secret token: treat it like a password reset link. */
  url: string;
  expiresAt: number;
}

export interface Decision {
  /** The verified account the decision comes from (a signed iframe `sub`, a 3LO `/me`). */
  accountId: string;
  /** The sites to link on (Connect: the one the page ran in; 3LO: those the user chose). */
  sites: { cloudId: string; tenantId: string | null }[];
  route: LinkRoute;
  scopes: string[];
  evidence: Record<string, unknown>;
  allow: boolean;
}

export interface DecisionOutcome {
  session: LinkSession;
  links: Link[];
  /** Where to send the browser next (the app's return URL with the code, or undefined). */
  redirectUrl?: string;
}

export type LinkSessionView = Omit<LinkSession, 'hasCompletionCode'>;

const DEFAULT_TTL_MS = 10 * 60_000;
const EXTERNAL_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * Link sessions: one-time, expiring, unguessable tokens that start a linking flow for one of your users,
 * and the decision that ends it. Only the SHA-256 of the token and of the completion code is stored.
 */
export function createLinkSessions(deps: { repos: Repositories; clock: Clock }, options: { baseUrl: string }) {
  const { repos, clock } = deps;

  function statusOf(s: LinkSession): LinkSession {
    return s.status === 'pending' && s.expiresAt <= clock.now() ? { ...s, status: 'expired' } : s;
  }

  /** A link nobody confirmed in time holds no claim: it is revoked so the account and user are free again. */
  async function reapStale(link: Link | undefined): Promise<void> {
    const by = link?.evidence['confirmBy'];
    if (link && link.status === 'pending_confirmation' && typeof by === 'number' && by <= clock.now()) {
      if (await repos.links.setStatus(link.id, 'revoked', { reason: 'confirmation_expired', from: ['pending_confirmation'] })) {
        await repos.audit.append({ action: 'link.revoked', actorType: 'system', accountId: link.accountId, externalUserId: link.externalUserId, cloudId: link.cloudId, route: link.route, reason: 'confirmation_expired' });
      }
    }
  }

  async function usable(token: string): Promise<LinkSession> {
    const s = await repos.linkSessions.byTokenHash(hashToken(token));
    if (!s) throw new GatewayError('LINK_SESSION_INVALID', 'This link is not valid. Ask the application for a new one.');
    if (s.status !== 'pending') throw new GatewayError('LINK_SESSION_INVALID', 'This link was already used. Ask the application for a new one.', { details: { status: s.status } });
    if (s.expiresAt <= clock.now()) throw new GatewayError('LINK_SESSION_EXPIRED', 'This link has expired. Ask the application for a new one.', { details: { expiredAt: new Date(s.expiresAt).toISOString() } });
    return s;
  }

  return {
    async start(input: StartLinkSessionInput): Promise<StartedLinkSession> {
      if (!EXTERNAL_ID.test(input.externalUserId)) {
        throw new GatewayError('VALIDATION_FAILED', 'externalUserId must be 1-200 printable characters without spaces.', { details: { field: 'externalUserId' } });
      }
      if (input.returnUrl) {
        let u: URL | undefined;
        try {
          u = new URL(input.returnUrl);
        } catch {
          u = undefined;
        }
        if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) {
          throw new GatewayError('VALIDATION_FAILED', 'returnUrl must be an absolute http(s) URL.', { details: { field: 'returnUrl' } });
        }
      }
      // The forwarded-link guard hands the completion code to the browser on its way back to returnUrl, and
      // only your backend can redeem it there. With no return URL nothing could ever confirm the link: the
      // user was left on "Almost done" with the account claimed (issue 15). Such a session completes at the
      // user's decision instead, and the audit log says why.
      const guarded = input.requireConfirmation !== false && Boolean(input.returnUrl);
      const ttl = input.ttlMs ?? DEFAULT_TTL_MS;
      if (!Number.isInteger(ttl) || ttl < 60_000 || ttl > 7 * 86_400_000) throw new GatewayError('VALIDATION_FAILED', 'ttl must be between one minute and seven days.', { details: { field: 'ttl' } });
      const token = newSecretToken('obl');
      const now = clock.now();
      const id = newId();
      await repos.linkSessions.insert({
        id,
        token_hash: hashToken(token),
        external_user_id: input.externalUserId,
        cloud_id: input.cloudId ?? null,
        route: input.route,
        return_url: input.returnUrl ?? null,
        status: 'pending',
        require_confirmation: guarded ? 1 : 0,
        completion_code_hash: null,
        oauth_state_hash: null,
        link_id: null,
        email_hint: input.emailHint ?? null,
        api_key_id: input.apiKeyId ?? null,
        created_at: now,
        expires_at: now + ttl,
        used_at: null,
        completed_at: null,
        pending_account_id: null,
        pending_data: null,
      });
      await repos.audit.append({
        action: 'link_session.created',
        actorType: input.apiKeyId ? 'api_key' : 'system',
        actorId: input.apiKeyId ?? null,
        externalUserId: input.externalUserId,
        cloudId: input.cloudId ?? null,
        route: input.route,
        reason: input.requireConfirmation === false ? 'confirmation_opted_out' : guarded ? null : 'no_return_url',
      });
      return { id, url: `${options.baseUrl}/link/${token}`, expiresAt: now + ttl };
    },

    /** A session that may still be decided, found by its token; refuses used, unknown and expired ones. */
    open: usable,

    async get(id: string): Promise<LinkSessionView | undefined> {
      const s = await repos.linkSessions.get(id);
      if (!s) return undefined;
      const { hasCompletionCode: _hidden, ...view } = statusOf(s);
      return view;
    },

    /** Binds an OAuth `state` to the session (stored hashed); the callback finds the session by it. */
    async bindState(token: string, state: string, cloudId: string | null): Promise<LinkSession> {
      const s = await usable(token);
      const ok = await repos.linkSessions.transition(s.id, ['pending'], { oauth_state_hash: hashToken(state), used_at: clock.now(), ...(cloudId ? { cloud_id: cloudId } : {}) });
      if (!ok) throw new GatewayError('LINK_SESSION_INVALID', 'This link was already used.');
      return s;
    },

    async byState(state: string): Promise<LinkSession> {
      const s = await repos.linkSessions.byStateHash(hashToken(state));
      if (!s) throw new GatewayError('LINK_SESSION_INVALID', 'The sign-in came back with an unknown state; start again from the application.', { details: { reason: 'unknown_state' } });
      if (s.status !== 'pending') throw new GatewayError('LINK_SESSION_INVALID', 'This sign-in was already completed.', { details: { reason: 'state_replayed', status: s.status } });
      if (s.expiresAt <= clock.now()) throw new GatewayError('LINK_SESSION_EXPIRED', 'The link expired before the sign-in finished. Ask the application for a new one.');
      return s;
    },

    /**
     * Ends a pending session with the user's decision. Allow creates the link (pending confirmation
     * unless the session opted out) and a one-time completion code for the return URL; Deny records the
     * refusal. The session moves by compare-and-set first, so a replayed decision changes nothing.
     */
    async decide(session: LinkSession, d: Decision): Promise<DecisionOutcome> {
      const now = clock.now();
      if (session.cloudId && d.sites.some((site) => site.cloudId !== session.cloudId)) {
        throw new GatewayError('LINK_SESSION_INVALID', 'This link was made for another site.', { details: { reason: 'wrong_site' } });
      }
      const firstCloud = d.sites[0]?.cloudId ?? session.cloudId;
      if (d.allow && d.sites.length === 0) throw new GatewayError('VALIDATION_FAILED', 'Choose at least one site.');
      if (!d.allow) {
        if (!(await repos.linkSessions.transition(session.id, ['pending'], { status: 'denied', completed_at: now, used_at: session.usedAt ?? now, pending_data: null }))) {
          throw new GatewayError('LINK_SESSION_INVALID', 'This link was already used.');
        }
        await repos.audit.append({ action: 'link.denied', actorType: 'user', actorId: d.accountId, accountId: d.accountId, externalUserId: session.externalUserId, cloudId: firstCloud, route: d.route });
        const denied = await repos.linkSessions.get(session.id);
        return { session: denied ?? session, links: [], ...(session.returnUrl ? { redirectUrl: withParams(session.returnUrl, { onbehalf_session: session.id, onbehalf_status: 'denied' }) } : {}) };
      }

      // Every check for every site comes before the first write, so a refused decision changes nothing.
      const existingMine: (Link | undefined)[] = [];
      for (const site of d.sites) {
        await reapStale(await repos.links.liveForAccount(site.cloudId, d.accountId));
        await reapStale(await repos.links.liveForUser(site.cloudId, session.externalUserId));
        const existing = await repos.links.liveForAccount(site.cloudId, d.accountId);
        if (existing && existing.externalUserId !== session.externalUserId) {
          await repos.audit.append({ action: 'link.conflicted', actorType: 'user', actorId: d.accountId, accountId: d.accountId, externalUserId: session.externalUserId, cloudId: site.cloudId, route: d.route, reason: 'account_linked_to_another_user' });
          throw new GatewayError('LINK_CONFLICT', 'This Atlassian account is already linked to another user of the application. An admin must resolve it.', { details: { cloudId: site.cloudId } });
        }
        const mine = await repos.links.liveForUser(site.cloudId, session.externalUserId);
        if (mine && mine.accountId !== d.accountId) {
          await repos.audit.append({ action: 'link.conflicted', actorType: 'user', actorId: d.accountId, accountId: d.accountId, externalUserId: session.externalUserId, cloudId: site.cloudId, route: d.route, reason: 'user_linked_to_another_account' });
          throw new GatewayError('LINK_CONFLICT', 'This user is already linked to a different account on this site; revoke that link first.', { details: { cloudId: site.cloudId } });
        }
        existingMine.push(mine);
      }

      const confirm = session.requireConfirmation;
      const code = confirm ? newSecretToken('obc') : undefined;
      if (
        !(await repos.linkSessions.transition(session.id, ['pending'], {
          status: confirm ? 'pending_confirmation' : 'linked',
          completion_code_hash: code ? hashToken(code) : null,
          used_at: session.usedAt ?? now,
          // The completion code is good for as long as a fresh session would be.
          expires_at: now + DEFAULT_TTL_MS,
          cloud_id: session.cloudId ?? (d.sites.length === 1 ? firstCloud : null),
          pending_data: null,
          ...(confirm ? {} : { completed_at: now }),
        }))
      ) {
        throw new GatewayError('LINK_SESSION_INVALID', 'This link was already used.');
      }

      const status = confirm ? 'pending_confirmation' : 'linked';
      const links: Link[] = [];
      for (const [i, site] of d.sites.entries()) {
        const mine = existingMine[i];
        if (mine) {
          // The same account again (a re-consent): refresh the link's evidence and scopes, and clear a reauth.
          // The newest consent also decides the route, so a user moves from Connect to 3LO by consenting
          // once, without a revocation in between (Connect's end of support makes that the common case).
          await repos.links.setStatus(mine.id, mine.status === 'linked' ? 'linked' : status, {
            evidence: d.evidence,
            scopes: d.scopes,
            route: { route: d.route, tenantId: site.tenantId ?? null },
            from: ['pending_confirmation', 'linked', 'reauth_required'],
          });
          links.push((await repos.links.get(mine.id)) ?? mine);
          continue;
        }
        const evidence = confirm ? { ...d.evidence, confirmBy: now + DEFAULT_TTL_MS } : d.evidence;
        links.push(await repos.links.create({ externalUserId: session.externalUserId, cloudId: site.cloudId, accountId: d.accountId, route: d.route, scopes: d.scopes, status, evidence, tenantId: site.tenantId, sessionId: session.id }));
      }
      await repos.linkSessions.transition(session.id, ['pending_confirmation', 'linked'], { link_id: links[0]?.id ?? null });
      for (const link of links) {
        await repos.audit.append({
          action: confirm ? 'link.created' : 'link.linked',
          actorType: 'user',
          actorId: d.accountId,
          accountId: d.accountId,
          externalUserId: session.externalUserId,
          cloudId: link.cloudId,
          route: d.route,
          reason: confirm ? 'awaiting_confirmation' : 'confirmation_opted_out',
          data: { linkId: link.id, sessionId: session.id },
        });
        await repos.events.append({ type: confirm ? 'link.pending_confirmation' : 'link.linked', cloudId: link.cloudId, accountId: d.accountId, externalUserId: session.externalUserId, data: { linkId: link.id, route: d.route } });
      }
      const after = (await repos.linkSessions.get(session.id)) ?? session;
      const params: Record<string, string> = { onbehalf_session: session.id, onbehalf_status: status };
      if (code) params['onbehalf_code'] = code;
      return { session: after, links, ...(session.returnUrl ? { redirectUrl: withParams(session.returnUrl, params) } : {}) };
    },

    /** 3LO: a finished sign-in waiting for the user to pick among several sites. */
    async holdForChoice(session: LinkSession, accountId: string, data: Record<string, unknown>): Promise<void> {
      if (!(await repos.linkSessions.transition(session.id, ['pending'], { pending_account_id: accountId, pending_data: JSON.stringify(data), oauth_state_hash: null }))) {
        throw new GatewayError('LINK_SESSION_INVALID', 'This sign-in was already completed.');
      }
    },

    /** The session waiting for a site choice, found by its token. */
    async awaitingChoice(token: string): Promise<LinkSession> {
      const s = await usable(token);
      if (!s.pendingAccountId) throw new GatewayError('LINK_SESSION_INVALID', 'There is no finished sign-in waiting for a site choice.', { details: { reason: 'no_pending_sign_in' } });
      return s;
    },

    /**
     * The forwarded-link guard's second half: your backend, still holding its own session for the user,
     * redeems the completion code the browser brought back. Only then is the link `linked`.
     */
    async confirm(sessionId: string, code: string, expect: { externalUserId?: string } = {}): Promise<Link> {
      const s = await repos.linkSessions.get(sessionId);
      if (s?.status === 'expired') throw new GatewayError('LINK_SESSION_EXPIRED', 'The completion code has expired; start linking again.');
      if (!s || s.status !== 'pending_confirmation') {
        throw new GatewayError('LINK_SESSION_INVALID', 'There is no link waiting for confirmation in this session.', { details: { status: s?.status ?? 'unknown' } });
      }
      if (expect.externalUserId !== undefined && expect.externalUserId !== s.externalUserId) {
        throw new GatewayError('LINK_SESSION_INVALID', 'This session belongs to another user.', { details: { reason: 'wrong_user' } });
      }
      if (s.expiresAt <= clock.now()) throw new GatewayError('LINK_SESSION_EXPIRED', 'The completion code has expired; start linking again.');
      const stored = await repos.linkSessions.completionCodeHash(s.id);
      if (!stored || stored !== hashToken(code)) throw new GatewayError('LINK_SESSION_INVALID', 'The completion code does not match.', { details: { reason: 'wrong_code' } });
      // The claims this code redeems: the session's links still waiting, or (a re-consent, which refreshes a
      // link another session made) the session's own link while it waits or stays linked. A claim revoked
      // in the meantime (by an admin, the app, or as lapsed) stays revoked: the code does not bring it back.
      const held = await repos.links.list({ sessionId: s.id, status: 'pending_confirmation' });
      const legacy = held.length === 0 && s.linkId ? await repos.links.get(s.linkId) : undefined;
      const claims = legacy?.status === 'pending_confirmation' || legacy?.status === 'linked' ? [legacy] : held;
      if (claims.length === 0) {
        // A redemption that won a race with this one has linked them already: this code was used, not lost.
        if ((await repos.linkSessions.get(s.id))?.status === 'linked') throw new GatewayError('LINK_SESSION_INVALID', 'This completion code was already used.');
        throw new GatewayError('NOT_FOUND', 'The link of this session no longer exists.');
      }
      if (!(await repos.linkSessions.transition(s.id, ['pending_confirmation'], { status: 'linked', completed_at: clock.now(), completion_code_hash: null }))) {
        throw new GatewayError('LINK_SESSION_INVALID', 'This completion code was already used.');
      }
      const confirmed: Link[] = [];
      for (const link of claims) {
        // A revocation between the read above and this write wins: nothing is recorded as confirmed for it.
        // A re-consent of a link that stayed linked is confirmed in place (its consent is verified again now).
        if (!(await repos.links.setStatus(link.id, 'linked', { from: ['pending_confirmation', 'linked'] }))) continue;
        confirmed.push(link);
        await repos.audit.append({ action: 'link.confirmed', actorType: 'api_key', actorId: s.apiKeyId, accountId: link.accountId, externalUserId: link.externalUserId, cloudId: link.cloudId, route: link.route, data: { linkId: link.id, sessionId: s.id } });
        await repos.events.append({ type: 'link.linked', cloudId: link.cloudId, accountId: link.accountId, externalUserId: link.externalUserId, data: { linkId: link.id, route: link.route } });
      }
      // The session's own link (the first site chosen) is the answer, whatever order the links were read in.
      const first = confirmed.find((l) => l.id === s.linkId) ?? confirmed[0];
      if (!first) throw new GatewayError('NOT_FOUND', 'The link of this session no longer exists.');
      return (await repos.links.get(first.id)) ?? first;
    },

    /** Every link a confirmed session created (3LO may create one per chosen site). */
    linksOf(sessionId: string): Promise<Link[]> {
      return repos.links.list({ sessionId });
    },
  };
}

export type LinkSessions = ReturnType<typeof createLinkSessions>;

function withParams(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

import type { Context, Handler } from 'hono';
import { GatewayError, isGatewayError } from '../../errors.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { LinkSessions } from '../../identity/link-sessions.js';
import type { Links } from '../../identity/links.js';
import type { Repositories } from '../../store/repositories.js';
import { hashToken } from '../../store/ids.js';
import { forgeApiBase } from '../../broker/forge-app-client.js';
import { FORGE_IMPERSONATION_SCOPES, FORGE_LINK_PAGE_KEY } from '../../tenants/forge-app-manifest.js';
import { describeLinkProblem } from '../pages/link-problem.js';
import { linkStatusLabel, siteLabel } from '../pages/connect-link-page.js';
import type { RouteDef } from '../routes.js';
import { forgeCaller, uiBody, type ForgeCaller } from './forge-page-input.js';

export interface ForgeLinkRouteDeps {
  repos: Repositories;
  linkSessions: LinkSessions;
  links: Links;
  fetch: typeof fetch;
  clock: Clock;
  logger: Logger;
  appName: string;
}

const LIVE = ['pending_confirmation', 'linked', 'reauth_required'] as const;

/** What the app may do as the user, in words, for the scopes it acts with (forge-app-manifest.ts). */
export const FORGE_ACTIONS = [
  'Read the pages, blog posts, comments and spaces you can see.',
  'Create and edit pages, blog posts and comments as you.',
  "See other people's public profiles, as you can.",
];

const text = (v: unknown) => (typeof v === 'string' ? v : null);

/**
 * The gateway's side of the Forge "Connect your account" page (forge-app/src/connect-account): its state, the
 * Allow/Deny decision on a link session, and Disconnect. Every call comes through Forge with a FIT, whose
 * principal is who clicked; the page itself is trusted for nothing. A decision goes through the same link
 * sessions as the Connect page: the forwarded-link guard and completion codes work alike, and the link is
 * recorded with route `forge` and the FIT's principal and installation as evidence.
 */
export function forgeLinkRoutes(deps: ForgeLinkRouteDeps): RouteDef[] {
  const app = deps.appName;

  /** The viewer's display name, asked once with the user token Forge sent and kept in the accounts seen. */
  async function displayName(caller: ForgeCaller): Promise<string | null> {
    const known = await deps.repos.knownAccounts.get(caller.cloudId, caller.accountId);
    if (known?.displayName) return known.displayName;
    let name: string | null = null;
    if (caller.forge.userToken) {
      try {
        const res = await deps.fetch(`${forgeApiBase(caller.forge.tenant)}/rest/api/user/current`, { headers: { authorization: `Bearer ${caller.forge.userToken}`, accept: 'application/json' }, signal: AbortSignal.timeout(3000) });
        if (res.ok) name = text(((await res.json()) as { displayName?: unknown }).displayName);
      } catch (e) {
        deps.logger.debug({ err: e instanceof Error ? e.message : String(e) }, 'forge link page: display name look-up failed');
      }
    }
    await deps.repos.knownAccounts.record({ cloudId: caller.cloudId, accountId: caller.accountId, source: 'forge:link-page', displayName: name });
    return name;
  }

  async function myLinks(caller: ForgeCaller) {
    const links = await deps.repos.links.list({ cloudId: caller.cloudId, accountId: caller.accountId, status: [...LIVE] });
    return links.map((l) => ({ id: l.id, externalUserId: l.externalUserId, status: l.status, statusLabel: linkStatusLabel(l.status, app), route: l.route, since: new Date(l.createdAt).toISOString() }));
  }

  /** The decision this viewer already made with this session: a reload after Allow shows it, not "already used". */
  async function ownDecision(token: string, caller: ForgeCaller): Promise<{ externalUserId: string; status: string } | null> {
    const s = await deps.repos.linkSessions.byTokenHash(hashToken(token));
    const link = s?.linkId ? await deps.links.get(s.linkId) : undefined;
    if (!link || link.accountId !== caller.accountId || link.cloudId !== caller.cloudId || !(LIVE as readonly string[]).includes(link.status)) return null;
    return { externalUserId: link.externalUserId, status: link.status };
  }

  const problemBody = (e: GatewayError) => {
    const p = describeLinkProblem(e, app);
    return { error: { code: e.code, message: p.message, details: { ...(e.details ?? {}), title: p.title, nextStep: p.next } } };
  };

  const state: Handler = async (c) => {
    const caller = forgeCaller(c, FORGE_LINK_PAGE_KEY);
    const body = await uiBody(c);
    const token = text(body['session']) ?? '';
    let session: { externalUserId: string; expiresAt: string } | null = null;
    let problem: { title: string; message: string; next: string } | null = null;
    let done: { externalUserId: string; status: string } | null = null;
    if (token !== '') {
      try {
        const s = await deps.linkSessions.open(token);
        if (s.cloudId && s.cloudId !== caller.cloudId) throw new GatewayError('LINK_SESSION_INVALID', 'This link was made for another Confluence site.', { details: { reason: 'wrong_site' } });
        session = { externalUserId: s.externalUserId, expiresAt: new Date(s.expiresAt).toISOString() };
      } catch (e) {
        if (!isGatewayError(e)) throw e;
        done = await ownDecision(token, caller);
        if (!done) problem = describeLinkProblem(e, app);
      }
    }
    const tenant = caller.forge.tenant;
    return c.json({
      appName: app,
      site: { label: siteLabel(tenant.baseUrl), cloudId: caller.cloudId },
      account: { accountId: caller.accountId, displayName: await displayName(caller) },
      actions: FORGE_ACTIONS,
      session,
      problem,
      done,
      links: await myLinks(caller),
    });
  };

  const decide: Handler = async (c) => {
    const caller = forgeCaller(c, FORGE_LINK_PAGE_KEY);
    const body = await uiBody(c);
    const token = text(body['session']);
    if (!token || (body['decision'] !== 'allow' && body['decision'] !== 'deny')) throw new GatewayError('VALIDATION_FAILED', 'Send {"session": "<token>", "decision": "allow" | "deny"}.');
    const inv = caller.forge.invocation;
    const tenant = caller.forge.tenant;
    let outcome;
    try {
      const session = await deps.linkSessions.open(token);
      outcome = await deps.linkSessions.decide(session, {
        accountId: caller.accountId,
        sites: [{ cloudId: caller.cloudId, tenantId: tenant.id }],
        route: 'forge',
        scopes: [...FORGE_IMPERSONATION_SCOPES],
        allow: body['decision'] === 'allow',
        // What proves who clicked: the verified invocation token of this very request.
        evidence: { kind: 'forge_invocation', principal: caller.accountId, installationId: inv.installationId, appId: inv.appId, moduleKey: inv.module.key, jti: inv.jti, sessionId: session.id, site: tenant.baseUrl },
      });
    } catch (e) {
      if (!isGatewayError(e)) throw e;
      return c.json(problemBody(e), e.code === 'LINK_SESSION_EXPIRED' ? 410 : e.code === 'LINK_CONFLICT' ? 409 : e.code === 'NOT_FOUND' ? 404 : 400);
    }
    const status = outcome.session.status;
    const back = outcome.redirectUrl ? {} : { next: 'You can close this page.' };
    const words =
      status === 'denied'
        ? { title: 'Nothing was connected', message: `You denied the request. ${app} cannot act as you.`, ...back }
        : status === 'pending_confirmation'
          ? { title: 'Almost done', message: `You allowed it. ${app} must now confirm that the request came from you.`, next: outcome.redirectUrl ? `Return to ${app} to finish connecting your account.` : `Go back to ${app} to finish connecting your account.` }
          : { title: 'Your account is connected', message: `${app} can now act as you on this site.`, ...back };
    return c.json({ status, ...words, ...(outcome.redirectUrl ? { redirectUrl: outcome.redirectUrl, returnLabel: `Return to ${app}` } : {}) });
  };

  const disconnect: Handler = async (c: Context) => {
    const caller = forgeCaller(c, FORGE_LINK_PAGE_KEY);
    const body = await uiBody(c);
    const id = text(body['linkId']);
    const link = id ? await deps.repos.links.get(id) : undefined;
    // A user may end only their own links, on this site.
    if (!link || link.accountId !== caller.accountId || link.cloudId !== caller.cloudId || !(LIVE as readonly string[]).includes(link.status)) {
      const e = new GatewayError('NOT_FOUND', 'There is no such link of yours on this site; it may have been disconnected already.');
      return c.json(problemBody(e), 404);
    }
    const revoked = await deps.links.revoke({ linkId: link.id, actorType: 'user', actorId: caller.accountId, reason: 'revoked_by_user' });
    return c.json({ id: revoked.id, status: revoked.status });
  };

  return [
    { method: 'POST', path: '/forge/ui/state', auth: 'forgeInvocation', summary: 'Forge "Connect your account" page: who is looking, the link session it carries, their connections.', handler: state },
    { method: 'POST', path: '/forge/ui/decide', auth: 'forgeInvocation', summary: 'Forge "Connect your account" page: Allow or Deny a link session (principal of the FIT).', handler: decide },
    { method: 'POST', path: '/forge/ui/disconnect', auth: 'forgeInvocation', summary: 'Forge "Connect your account" page: the user disconnects one of their links.', handler: disconnect },
  ];
}

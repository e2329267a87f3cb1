import type { Context, Handler } from 'hono';
import { GatewayError, isGatewayError } from '../../errors.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { ConnectActAs } from '../../broker/connect-act-as.js';
import type { LinkSessions } from '../../identity/link-sessions.js';
import type { OAuthLinking } from '../../identity/oauth-linking.js';
import type { Links } from '../../identity/links.js';
import type { Repositories } from '../../store/repositories.js';
import { LINK_PAGE_KEY } from '../../tenants/connect-descriptor.js';
import { ensureCloudId } from '../../tenants/ensure-cloud-id.js';
import { oneInstallPerSite } from '../../tenants/one-install-per-site.js';
import type { ConnectAuth } from '../middleware/connect-jwt-auth.js';
import { lookUpDisplayName } from './look-up-display-name.js';
import { CONNECT_LINK_JS, ONBEHALF_CSS } from '../pages/assets.js';
import type { LinkProblem } from '../pages/link-problem.js';
import { ConnectLinkPage, MessagePage, SiteChooserPage, linkStatusLabel, siteLabel, type ConnectLinkPageDone } from '../pages/connect-link-page.js';
import { hashToken } from '../../store/ids.js';
import { describeLinkProblem } from '../pages/link-problem.js';
import type { RouteDef } from '../routes.js';
import type { Tenant } from '../../store/tenants-repo.js';
import type { ActAsClient } from '../../confluence/create-act-as-client.js';
import { forgeLinkPageUrl } from '../forge/forge-link-url.js';

export interface LinkRouteDeps {
  repos: Repositories;
  linkSessions: LinkSessions;
  links: Links;
  actAs: ConnectActAs;
  fetch: typeof fetch;
  clock: Clock;
  logger: Logger;
  appKey: string;
  appName: string;
  /** The gateway's public URL; pages and their scripts address the gateway through it. */
  baseUrl: string;
  allJsUrl: string;
  scopes: string[];
  /** The 3LO route; absent when no 3LO app is configured. */
  oauthLinking?: OAuthLinking;
  /** The Forge route: sessions for sites with the Forge app go to its "Connect your account" page. */
  forge?: { appId: string; asApp: (tenant: Tenant) => ActAsClient };
}

const LIVE = ['pending_confirmation', 'linked', 'reauth_required'] as const;

function errorStatus(e: GatewayError): 400 | 404 | 409 | 410 {
  return e.code === 'LINK_SESSION_EXPIRED' ? 410 : e.code === 'LINK_CONFLICT' ? 409 : e.code === 'NOT_FOUND' ? 404 : 400;
}

/** Pages inside Confluence may be framed by that site only, and run only our script and the AP bridge. */
function framedBy(c: Context, siteBaseUrl: string, allJsUrl: string): void {
  const site = new URL(siteBaseUrl).origin;
  const allJs = new URL(allJsUrl).origin;
  c.header(
    'Content-Security-Policy',
    `default-src 'self'; script-src 'self' ${allJs}; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors ${site}; base-uri 'none'; form-action 'self'; object-src 'none'`,
  );
}

/** Account linking inside Confluence (the Connect route): the link URL, the consent page, decisions and revokes. */
export function linkRoutes(deps: LinkRouteDeps): RouteDef[] {
  const assets = deps.baseUrl;

  /**
   * The link this visitor already made with this session, if any: reloading the page after Allow (the
   * address bar still carries the session) shows that state, not "already used", which is for anyone else.
   */
  async function ownDecision(token: string, accountId: string, cloudId: string): Promise<ConnectLinkPageDone> {
    const s = await deps.repos.linkSessions.byTokenHash(hashToken(token));
    const link = s?.linkId ? await deps.links.get(s.linkId) : undefined;
    if (!link || link.accountId !== accountId || link.cloudId !== cloudId || !(LIVE as readonly string[]).includes(link.status)) return null;
    return { externalUserId: link.externalUserId, status: link.status };
  }

  const openLink: Handler = async (c) => {
    const token = c.req.param('token') ?? '';
    let session;
    try {
      session = await deps.linkSessions.open(token);
    } catch (e) {
      if (!isGatewayError(e)) throw e;
      const problem = describeLinkProblem(e, deps.appName);
      return c.html(<MessagePage kind="error" title={problem.title} message={problem.message} next={problem.next} assetsBase={assets} />, errorStatus(e));
    }
    if (session.route === 'oauth') {
      if (!deps.oauthLinking) {
        return c.html(
          <MessagePage kind="error" title="Atlassian sign-in is not available" message="Linking through Atlassian sign-in (OAuth 2.0) is not configured on this gateway." next={`Tell ${deps.appName}'s support; they can send you a link that works inside Confluence instead.`} assetsBase={assets} />,
          501,
        );
      }
      return c.redirect(await deps.oauthLinking.start(token), 302);
    }
    const tenants = await deps.repos.tenants.list();
    const forgeSites = deps.forge ? oneInstallPerSite(tenants.filter((t) => t.route === 'forge' && t.status === 'active' && t.appKey === deps.forge?.appId)) : [];
    const forgeClouds = new Set(forgeSites.map((t) => t.cloudId));
    // A site with the Forge app gets its Forge page, even if a Connect install remains: Connect ends on
    // 31 January 2027, and one site must not offer two consent pages.
    const sites = [
      ...oneInstallPerSite(tenants.filter((t) => t.route === 'connect' && t.status === 'active' && t.appKey === deps.appKey)).filter((t) => !t.cloudId || !forgeClouds.has(t.cloudId)),
      ...forgeSites,
    ];
    const chosen = c.req.query('site') ?? session.cloudId;
    const candidates = chosen ? sites.filter((t) => t.cloudId === chosen) : sites;
    if (candidates.length === 0) {
      return c.html(
        <MessagePage kind="error" title="No site to connect" message={`No Confluence site has ${deps.appName} installed${chosen ? ' for this link' : ''}.`} next={`Ask your Confluence admin to install ${deps.appName}, then open this link again.`} assetsBase={assets} />,
        404,
      );
    }
    if (candidates.length > 1) {
      // Several sites: the user says which; never a silent pick.
      return c.html(
        <SiteChooserPage
          appName={deps.appName}
          assetsBase={assets}
          externalUserId={session.externalUserId}
          sites={candidates.map((t) => ({ href: `${deps.baseUrl}/link/${encodeURIComponent(token)}?site=${encodeURIComponent(t.cloudId ?? '')}`, label: siteLabel(t.baseUrl) }))}
        />,
      );
    }
    const tenant = candidates[0];
    if (!tenant) throw new GatewayError('INTERNAL', 'no tenant');
    if (tenant.route === 'forge' && deps.forge) {
      const url = await forgeLinkPageUrl({ repos: deps.repos, asApp: deps.forge.asApp, logger: deps.logger }, tenant, token);
      if (!url) {
        return c.html(
          <MessagePage kind="error" title="The site cannot be reached right now" message={`${deps.appName} could not find the address of your Confluence site.`} next="Try the link again in a few minutes. If it keeps failing, ask your Confluence admin to check that the app is still installed." assetsBase={assets} />,
          503,
        );
      }
      return c.redirect(url, 302);
    }
    return c.redirect(`${tenant.baseUrl}/plugins/servlet/ac/${encodeURIComponent(deps.appKey)}/${LINK_PAGE_KEY}?ac.session=${encodeURIComponent(token)}`, 302);
  };

  const page: Handler = async (c) => {
    const { tenant, claims } = c.get('connect') as ConnectAuth;
    framedBy(c, tenant.baseUrl, deps.allJsUrl);
    const accountId = claims.accountId;
    if (!accountId) {
      return c.html(<MessagePage kind="error" title="Sign in first" message={`Only a signed-in Confluence user can connect an account to ${deps.appName}.`} next="Log in to Confluence, then open the link again." assetsBase={assets} />, 401);
    }
    const cloudId = (await ensureCloudId(deps, tenant)) ?? '';
    const raw = c.req.query('session') ?? '';
    // Confluence leaves the template as is when the page is opened without a session.
    const token = raw === '' || raw === '{ac.session}' ? '' : raw;
    let session: ConnectLinkPageSession = null;
    let problem: LinkProblem | null = null;
    let done: ConnectLinkPageDone = null;
    if (token) {
      try {
        const s = await deps.linkSessions.open(token);
        if (s.cloudId && s.cloudId !== cloudId) throw new GatewayError('LINK_SESSION_INVALID', 'This link was made for another Confluence site.', { details: { reason: 'wrong_site' } });
        session = { token, externalUserId: s.externalUserId, expiresAt: s.expiresAt };
      } catch (e) {
        if (!isGatewayError(e)) throw e;
        done = await ownDecision(token, accountId, cloudId);
        if (!done) problem = describeLinkProblem(e, deps.appName);
      }
    }
    const displayName = await lookUpDisplayName(deps, tenant, accountId);
    // Context capture: a signed iframe load proves this account uses this site; the name Confluence just gave
    // is kept too, so the admin console can show it.
    if (cloudId) await deps.repos.knownAccounts.record({ cloudId, accountId, source: 'iframe:link', displayName });
    const links = cloudId ? await deps.repos.links.list({ cloudId, accountId, status: [...LIVE] }) : [];
    return c.html(
      <ConnectLinkPage
        appName={deps.appName}
        assetsBase={assets}
        allJsUrl={deps.allJsUrl}
        siteLabel={siteLabel(tenant.baseUrl)}
        account={{ accountId, displayName }}
        session={session}
        problem={problem}
        done={done}
        scopes={deps.scopes}
        links={links}
        now={deps.clock.now()}
      />,
    );
  };

  const decide: Handler = async (c) => {
    const { tenant, claims } = c.get('connect') as ConnectAuth;
    const accountId = claims.accountId;
    if (!accountId) throw new GatewayError('UNAUTHENTICATED', 'Log in to Confluence first.');
    const body = (await c.req.json().catch(() => null)) as { session?: unknown; decision?: unknown } | null;
    if (!body || typeof body.session !== 'string' || (body.decision !== 'allow' && body.decision !== 'deny')) {
      throw new GatewayError('VALIDATION_FAILED', 'Send {"session": "<token>", "decision": "allow" | "deny"}.');
    }
    const cloudId = await ensureCloudId(deps, tenant);
    if (!cloudId) throw new GatewayError('ATLASSIAN_UNAVAILABLE', 'The site could not be identified (tenant_info); try again in a moment.');
    let outcome;
    try {
      const session = await deps.linkSessions.open(body.session);
      outcome = await deps.linkSessions.decide(session, {
      accountId,
      sites: [{ cloudId, tenantId: tenant.id }],
      route: 'connect',
      scopes: deps.scopes,
      allow: body.decision === 'allow',
      // What proves who clicked: the signed context JWT of this very request.
        evidence: { kind: 'connect_context_jwt', sub: accountId, clientKey: claims.clientKey, issuedAt: claims.issuedAt ?? null, sessionId: session.id, site: tenant.baseUrl },
      });
    } catch (e) {
      if (!isGatewayError(e)) throw e;
      // The page's script shows these words as they are: the same title and next step as a full page.
      const problem = describeLinkProblem(e, deps.appName);
      return c.json({ error: { code: e.code, message: problem.message, details: { ...(e.details ?? {}), title: problem.title, nextStep: problem.next } } }, errorStatus(e));
    }
    const status = outcome.session.status;
    const app = deps.appName;
    const words =
      status === 'denied'
        ? { title: 'Nothing was connected', message: `You denied the request. ${app} cannot act as you.`, ...(outcome.redirectUrl ? {} : { next: 'You can close this page.' }) }
        : status === 'pending_confirmation'
          ? { title: 'Almost done', message: `You allowed it. ${app} must now confirm that the request came from you.`, next: outcome.redirectUrl ? `Return to ${app} to finish connecting your account.` : `Go back to ${app} to finish connecting your account.` }
          : { title: 'Your account is connected', message: `${app} can now act as you on this site.`, ...(outcome.redirectUrl ? {} : { next: 'You can close this page.' }) };
    const links = outcome.links.map((l) => ({ id: l.id, externalUserId: l.externalUserId, statusLabel: linkStatusLabel(l.status, app), since: new Date(l.createdAt).toISOString().slice(0, 10) }));
    return c.json({ status, ...words, links, ...(outcome.redirectUrl ? { redirectUrl: outcome.redirectUrl } : {}) });
  };

  const revoke: Handler = async (c) => {
    const { tenant, claims } = c.get('connect') as ConnectAuth;
    const link = await deps.repos.links.get(c.req.param('id') ?? '');
    const cloudId = tenant.cloudId;
    // A user may end only their own links, on this site.
    if (!link || !claims.accountId || link.accountId !== claims.accountId || link.cloudId !== cloudId) {
      const e = new GatewayError('NOT_FOUND', 'There is no such link of yours on this site; it may have been disconnected already.');
      const problem = describeLinkProblem(e, deps.appName);
      return c.json({ error: { code: e.code, message: e.message, details: { title: problem.title, nextStep: problem.next } } }, 404);
    }
    const revoked = await deps.links.revoke({ linkId: link.id, actorType: 'user', actorId: claims.accountId, reason: 'revoked_by_user' });
    return c.json({ id: revoked.id, status: revoked.status });
  };

  return [
    { method: 'GET', path: '/assets/onbehalf.css', auth: 'public', summary: 'Stylesheet of the pages.', handler: (c) => c.body(ONBEHALF_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600' }) },
    { method: 'GET', path: '/assets/connect-link.js', auth: 'public', summary: 'Script of the consent page.', handler: (c) => c.body(CONNECT_LINK_JS, 200, { 'Content-Type': 'application/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=3600' }) },
    { method: 'GET', path: '/link/:token', auth: 'public', summary: 'A link-session URL: sends the user to the consent page of their site (the token is the credential).', handler: openLink },
    { method: 'GET', path: '/connect/link', auth: 'connectJwt', summary: 'The consent page inside Confluence (Allow/Deny, connected apps).', handler: page },
    { method: 'POST', path: '/connect/link/decide', auth: 'connectContext', summary: 'The user allows or denies a link session (context JWT).', handler: decide },
    { method: 'POST', path: '/connect/links/:id/revoke', auth: 'connectContext', summary: 'The user disconnects one of their links (context JWT).', handler: revoke },
  ];
}

type ConnectLinkPageSession = { token: string; externalUserId: string; expiresAt: number } | null;


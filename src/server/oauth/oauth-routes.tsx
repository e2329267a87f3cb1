import type { Context, Handler } from 'hono';
import { isGatewayError, type GatewayError } from '../../errors.js';
import type { DecisionOutcome } from '../../identity/link-sessions.js';
import type { OAuthLinking } from '../../identity/oauth-linking.js';
import type { OAuthManage } from '../../identity/oauth-manage.js';
import type { Repositories } from '../../store/repositories.js';
import { MessagePage } from '../pages/connect-link-page.js';
import { LinkedPage, ManagePage, SiteChoicePage } from '../pages/oauth-pages.js';
import { siteLabel } from '../pages/connect-link-page.js';
import { describeLinkProblem } from '../pages/link-problem.js';
import type { RouteDef } from '../routes.js';

export interface OAuthRouteDeps {
  oauthLinking: OAuthLinking;
  oauthManage: OAuthManage;
  repos: Repositories;
  appName: string;
  baseUrl: string;
  /** The scopes the 3LO app asks for, shown to the user as what the app may do. */
  scopes: string[];
}

/** The 3LO callback and the site-choice page. The `state` (bound to a link session, stored hashed) is the credential. */
export function oauthRoutes(deps: OAuthRouteDeps): RouteDef[] {
  const page = (c: Context, e: GatewayError) => {
    const problem = describeLinkProblem(e, deps.appName);
    return c.html(
      <MessagePage kind="error" title={problem.title} message={problem.message} next={problem.next} assetsBase={deps.baseUrl} />,
      e.code === 'LINK_SESSION_EXPIRED' ? 410 : e.code === 'LINK_CONFLICT' ? 409 : e.code === 'NOT_FOUND' ? 404 : e.code.startsWith('ATLASSIAN') ? 502 : 400,
    );
  };

  const finish = async (c: Context, outcome: DecisionOutcome) => {
    if (outcome.redirectUrl) return c.redirect(outcome.redirectUrl, 302);
    const { status, externalUserId } = outcome.session;
    if (status === 'denied') {
      return c.html(
        <MessagePage
          kind="info"
          title="Nothing was connected"
          message={`You cancelled, so ${deps.appName} cannot act as you.`}
          next={`If that was a mistake, go back to ${deps.appName} and start connecting again.`}
          assetsBase={deps.baseUrl}
        />,
      );
    }
    const hosts = new Map((await deps.repos.tenants.list()).filter((t) => t.route === 'oauth').map((t) => [t.cloudId, siteLabel(t.baseUrl)]));
    const sites = outcome.links.map((l) => hosts.get(l.cloudId) ?? l.cloudId);
    return c.html(<LinkedPage appName={deps.appName} assetsBase={deps.baseUrl} externalUserId={externalUserId} status={status} sites={sites} scopes={deps.scopes} />);
  };

  const manage: Handler = (c) => c.redirect(deps.oauthManage.start(), 302);

  const manageRevoke: Handler = async (c) => {
    try {
      const form = await c.req.parseBody();
      const link = await deps.oauthManage.revoke(typeof form['token'] === 'string' ? form['token'] : '');
      return c.html(
        <MessagePage
          kind="success"
          title="Disconnected"
          message={`${deps.appName} can no longer act as you for its user ${link.externalUserId}: the link is revoked and its tokens are deleted.`}
          next={`To connect again later, start from ${deps.appName}.`}
          assetsBase={deps.baseUrl}
          action={{ href: `${deps.baseUrl}/oauth/manage`, label: 'Back to your connections' }}
        />,
      );
    } catch (e) {
      if (isGatewayError(e)) return page(c, e);
      throw e;
    }
  };

  const callback: Handler = async (c) => {
    try {
      const q = c.req.query();
      if (deps.oauthManage.isManageState(q['state'])) {
        const view = await deps.oauthManage.callback({ state: q['state'] ?? '', ...(q['code'] !== undefined ? { code: q['code'] } : {}), ...(q['error'] !== undefined ? { error: q['error'] } : {}) });
        const sites = new Map((await deps.repos.tenants.list()).filter((t) => t.route === 'oauth').map((t) => [t.cloudId, siteLabel(t.baseUrl)]));
        return c.html(
          <ManagePage
            appName={deps.appName}
            assetsBase={deps.baseUrl}
            name={view.name}
            links={view.links.map(({ link, revokeToken }) => ({ cloudId: link.cloudId, externalUserId: link.externalUserId, status: link.status, site: sites.get(link.cloudId) ?? link.cloudId, revokeToken }))}
          />,
        );
      }
      const result = await deps.oauthLinking.callback({
        ...(q['state'] !== undefined ? { state: q['state'] } : {}),
        ...(q['code'] !== undefined ? { code: q['code'] } : {}),
        ...(q['error'] !== undefined ? { error: q['error'] } : {}),
      });
      if (result.kind === 'done') return finish(c, result.outcome);
      return c.html(<SiteChoicePage appName={deps.appName} assetsBase={deps.baseUrl} state={result.state} sites={result.sites} externalUserId={result.externalUserId} accountName={result.accountName} scopes={deps.scopes} />);
    } catch (e) {
      if (isGatewayError(e)) return page(c, e);
      throw e;
    }
  };

  const choose: Handler = async (c) => {
    try {
      const form = await c.req.parseBody({ all: true });
      const state = typeof form['state'] === 'string' ? form['state'] : '';
      const raw = form['cloudId'];
      const cloudIds = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((x): x is string => typeof x === 'string');
      const outcome = await deps.oauthLinking.choose(state, cloudIds, form['decision'] !== 'deny');
      return finish(c, outcome);
    } catch (e) {
      if (isGatewayError(e)) return page(c, e);
      throw e;
    }
  };

  return [
    { method: 'GET', path: '/oauth/callback', auth: 'public', summary: 'OAuth 2.0 (3LO) callback: code exchange, /me, sites, link (the state is the credential).', handler: callback },
    { method: 'GET', path: '/oauth/manage', auth: 'public', summary: 'A 3LO-linked user signs in to Atlassian to see and end their links.', handler: manage },
    { method: 'POST', path: '/oauth/manage/revoke', auth: 'public', summary: 'The user disconnects a 3LO link (sealed, short-lived token from the manage page).', handler: manageRevoke },
    { method: 'POST', path: '/oauth/choose', auth: 'public', summary: 'The user chooses which sites of a finished 3LO sign-in to link (state-bound form).', handler: choose },
  ];
}

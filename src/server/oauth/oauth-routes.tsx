import type { Context, Handler } from 'hono';
import { isGatewayError, type GatewayError } from '../../errors.js';
import type { DecisionOutcome } from '../../identity/link-sessions.js';
import type { OAuthLinking } from '../../identity/oauth-linking.js';
import type { OAuthManage } from '../../identity/oauth-manage.js';
import type { Repositories } from '../../store/repositories.js';
import { MessagePage } from '../pages/connect-link-page.js';
import { ManagePage, SiteChoicePage } from '../pages/oauth-pages.js';
import type { RouteDef } from '../routes.js';

export interface OAuthRouteDeps {
  oauthLinking: OAuthLinking;
  oauthManage: OAuthManage;
  repos: Repositories;
  appName: string;
  baseUrl: string;
}

/** The 3LO callback and the site-choice page. The `state` (bound to a link session, stored hashed) is the credential. */
export function oauthRoutes(deps: OAuthRouteDeps): RouteDef[] {
  const page = (c: Context, e: GatewayError) =>
    c.html(<MessagePage kind="error" title="Linking did not complete" message={e.message} assetsBase={deps.baseUrl} />, e.code === 'LINK_SESSION_EXPIRED' ? 410 : e.code === 'LINK_CONFLICT' ? 409 : e.code.startsWith('ATLASSIAN') ? 502 : 400);

  const finish = (c: Context, outcome: DecisionOutcome) => {
    if (outcome.redirectUrl) return c.redirect(outcome.redirectUrl, 302);
    const status = outcome.session.status;
    return c.html(
      <MessagePage
        kind={status === 'denied' ? 'info' : 'success'}
        title={status === 'denied' ? 'Nothing was linked' : 'Your account is connected'}
        message={status === 'denied' ? `You cancelled. ${deps.appName} cannot act as you.` : status === 'pending_confirmation' ? `Return to ${deps.appName} to finish connecting your account.` : `${deps.appName} can now act as you on the sites you chose. You can close this page.`}
        assetsBase={deps.baseUrl}
        {...(status === 'denied' ? {} : { action: { href: `${deps.baseUrl}/oauth/manage`, label: 'Manage or disconnect' } })}
      />,
    );
  };

  const manage: Handler = (c) => c.redirect(deps.oauthManage.start(), 302);

  const manageRevoke: Handler = async (c) => {
    try {
      const form = await c.req.parseBody();
      const link = await deps.oauthManage.revoke(typeof form['token'] === 'string' ? form['token'] : '');
      return c.html(<MessagePage kind="success" title="Disconnected" message={`${deps.appName} can no longer act as you through that connection (${link.externalUserId}).`} assetsBase={deps.baseUrl} action={{ href: `${deps.baseUrl}/oauth/manage`, label: 'Back to your connections' }} />);
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
        const sites = new Map((await deps.repos.tenants.list()).filter((t) => t.route === 'oauth').map((t) => [t.cloudId, new URL(t.baseUrl).host]));
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
      return c.html(<SiteChoicePage appName={deps.appName} assetsBase={deps.baseUrl} state={result.state} sites={result.sites} externalUserId={result.externalUserId} accountName={result.accountName} />);
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

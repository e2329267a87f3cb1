import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { accessibleResourcesRequest, processAccessibleResourcesResponse, type AccessibleResource } from '../atlassian/accessible-resources.js';
import { buildAuthorizeUrl } from '../atlassian/authorize-url.js';
import type { AtlassianEndpoints } from '../atlassian/endpoints.js';
import { meRequest, processMeResponse } from '../atlassian/me-request.js';
import { authorizationCodeRequest, processTokenResponse } from '../atlassian/oauth-token.js';
import type { OAuthTokenBroker } from '../broker/oauth-token-broker.js';
import type { LinkSession } from '../store/link-sessions-repo.js';
import type { Repositories } from '../store/repositories.js';
import type { DecisionOutcome, LinkSessions } from './link-sessions.js';

export interface OAuthApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scopes: readonly string[];
}

export interface SiteChoice {
  cloudId: string;
  name: string;
  url: string;
}

export type CallbackOutcome =
  | { kind: 'done'; outcome: DecisionOutcome }
  | { kind: 'choose'; state: string; sites: SiteChoice[]; externalUserId: string; accountName: string | null };

/**
 * Linking through Atlassian's own sign-in (OAuth 2.0 3LO): the link URL sends the user to the authorize
 * page with a `state` bound to the link session (stored hashed); the callback exchanges the code, asks
 * `/me` who signed in and `accessible-resources` which sites the grant reaches, stores the grant sealed,
 * and links the sites (asking the user to choose when there are several; never a silent pick).
 */
export function createOAuthLinking(deps: {
  repos: Repositories;
  linkSessions: LinkSessions;
  broker: OAuthTokenBroker;
  endpoints: AtlassianEndpoints;
  fetch: typeof fetch;
  clock: Clock;
  logger: Logger;
  app: OAuthApp;
}) {
  const scopes = [...new Set([...deps.app.scopes, 'offline_access'])];

  function confluenceSites(resources: AccessibleResource[]): SiteChoice[] {
    return resources.filter((r) => r.scopes.some((s) => s.includes('confluence'))).map((r) => ({ cloudId: r.cloudId, name: r.name, url: r.url.replace(/\/+$/, '') }));
  }

  async function ensureTenants(sites: SiteChoice[]): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const site of sites) {
      const t = await deps.repos.tenants.upsert({ route: 'oauth', appKey: deps.app.clientId, tenantKey: site.cloudId, cloudId: site.cloudId, baseUrl: `${site.url}/wiki`, payload: { name: site.name } });
      ids.set(site.cloudId, t.id);
    }
    return ids;
  }

  async function link(session: LinkSession, accountId: string, chosen: SiteChoice[], evidence: Record<string, unknown>, grantedScopes: string[]): Promise<DecisionOutcome> {
    const tenantIds = await ensureTenants(chosen);
    return deps.linkSessions.decide(session, {
      accountId,
      sites: chosen.map((s) => ({ cloudId: s.cloudId, tenantId: tenantIds.get(s.cloudId) ?? null })),
      route: 'oauth',
      scopes: grantedScopes,
      evidence,
      allow: true,
    });
  }

  return {
    scopes,

    /** The authorize URL for a link session (route oauth); the session can then only finish through this state. */
    async start(token: string): Promise<string> {
      const session = await deps.linkSessions.open(token);
      if (session.route !== 'oauth') throw new GatewayError('LINK_SESSION_INVALID', 'This link is not for Atlassian sign-in.');
      const state = randomBytes(32).toString('base64url');
      await deps.linkSessions.bindState(token, state, session.cloudId);
      return buildAuthorizeUrl({ authorizeEndpoint: deps.endpoints.authorizeUrl, clientId: deps.app.clientId, redirectUri: deps.app.redirectUri, scopes: deps.app.scopes, state, offlineAccess: true });
    },

    async callback(query: { state?: string; code?: string; error?: string; errorDescription?: string }): Promise<CallbackOutcome> {
      if (!query.state) throw new GatewayError('LINK_SESSION_INVALID', 'The sign-in came back without its state; start again from the application.', { details: { reason: 'missing_state' } });
      const session = await deps.linkSessions.byState(query.state);
      if (session.pendingAccountId) throw new GatewayError('LINK_SESSION_INVALID', 'This sign-in was already completed; choose your sites on the page it showed.', { details: { reason: 'state_replayed' } });
      if (query.error) {
        const outcome = await deps.linkSessions.decide(session, { accountId: 'unknown', sites: [], route: 'oauth', scopes: [], evidence: { error: query.error.slice(0, 100) }, allow: false });
        return { kind: 'done', outcome };
      }
      if (!query.code) throw new GatewayError('BAD_REQUEST', 'The sign-in came back without a code.');

      const tokens = await processTokenResponse(
        await authorizationCodeRequest({ tokenEndpoint: deps.endpoints.tokenUrl, clientId: deps.app.clientId, clientSecret: deps.app.clientSecret, code: query.code, redirectUri: deps.app.redirectUri, fetch: deps.fetch }),
        deps.clock,
      );
      const me = await processMeResponse(await meRequest({ meUrl: deps.endpoints.meUrl, accessToken: tokens.accessToken, fetch: deps.fetch }), deps.clock);
      const sites = confluenceSites(await processAccessibleResourcesResponse(await accessibleResourcesRequest({ accessibleResourcesUrl: deps.endpoints.accessibleResourcesUrl, accessToken: tokens.accessToken, fetch: deps.fetch }), deps.clock));

      // Every refusal before the grant is stored: a consent for the wrong site changes nothing.
      if (sites.length === 0) throw new GatewayError('LINK_SESSION_INVALID', 'Your Atlassian account has no Confluence site this app can reach.', { details: { reason: 'no_sites' } });
      const wanted = session.cloudId ? sites.filter((s) => s.cloudId === session.cloudId) : sites;
      if (wanted.length === 0) {
        throw new GatewayError('LINK_SESSION_INVALID', 'You consented for other sites than the one this link is for; nothing was linked.', { details: { reason: 'wrong_site' } });
      }
      const granted = tokens.scopes ?? scopes;
      await deps.broker.storeGrant({ accountId: me.accountId, scopes: granted, tokens });
      for (const site of sites) {
        await deps.repos.knownAccounts.record({ cloudId: site.cloudId, accountId: me.accountId, source: 'oauth:me', displayName: me.name ?? null, email: me.emailVerified ? (me.email ?? null) : null });
      }
      const evidence = { kind: 'oauth_me', accountId: me.accountId, email: me.email ?? null, emailVerified: me.emailVerified ?? false, name: me.name ?? null, sessionId: session.id };
      if (wanted.length === 1) return { kind: 'done', outcome: await link(session, me.accountId, wanted, evidence, granted) };
      await deps.linkSessions.holdForChoice(session, me.accountId, { sites: wanted, evidence, scopes: granted });
      // The state stays the handle of this session until the choice is made (it is cleared from the hash then).
      await deps.repos.linkSessions.transition(session.id, ['pending'], { oauth_state_hash: (await import('../store/ids.js')).hashToken(query.state) });
      return { kind: 'choose', state: query.state, sites: wanted, externalUserId: session.externalUserId, accountName: me.name ?? null };
    },

    /** The sites waiting for a choice on this state. */
    async pendingChoice(state: string): Promise<{ session: LinkSession; sites: SiteChoice[] }> {
      const session = await deps.linkSessions.byState(state);
      const data = session.pendingData as { sites?: SiteChoice[] } | null;
      if (!session.pendingAccountId || !data?.sites) throw new GatewayError('LINK_SESSION_INVALID', 'There is no sign-in waiting for a site choice.', { details: { reason: 'no_pending_sign_in' } });
      return { session, sites: data.sites };
    },

    async choose(state: string, cloudIds: string[], allow: boolean): Promise<DecisionOutcome> {
      const session = await deps.linkSessions.byState(state);
      const data = session.pendingData as { sites?: SiteChoice[]; evidence?: Record<string, unknown>; scopes?: string[] } | null;
      const accountId = session.pendingAccountId;
      if (!accountId || !data?.sites) throw new GatewayError('LINK_SESSION_INVALID', 'There is no sign-in waiting for a site choice.', { details: { reason: 'no_pending_sign_in' } });
      if (!allow) return deps.linkSessions.decide(session, { accountId, sites: [], route: 'oauth', scopes: [], evidence: {}, allow: false });
      const chosen = data.sites.filter((s) => cloudIds.includes(s.cloudId));
      if (chosen.length === 0 || chosen.length !== new Set(cloudIds).size) {
        throw new GatewayError('VALIDATION_FAILED', 'Choose one or more of the sites you signed in for.', { details: { reason: 'bad_site_choice' } });
      }
      return link(session, accountId, chosen, data.evidence ?? {}, data.scopes ?? scopes);
    },
  };
}

export type OAuthLinking = ReturnType<typeof createOAuthLinking>;

import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { buildAuthorizeUrl } from '../atlassian/authorize-url.js';
import type { AtlassianEndpoints } from '../atlassian/endpoints.js';
import { meRequest, processMeResponse } from '../atlassian/me-request.js';
import { authorizationCodeRequest, processTokenResponse } from '../atlassian/oauth-token.js';
import type { Link } from '../store/links-repo.js';
import type { Repositories } from '../store/repositories.js';
import type { SecretBox } from '../store/secret-box.js';
import type { Links } from './links.js';
import type { OAuthApp } from './oauth-linking.js';

const MANAGE_PREFIX = 'm.';
const STATE_CONTEXT = 'oauth-manage:state';
const REVOKE_CONTEXT = 'oauth-manage:revoke';
const STATE_TTL_MS = 10 * 60_000;
const REVOKE_TTL_MS = 15 * 60_000;

export interface ManageView {
  accountId: string;
  name: string | null;
  links: { link: Link; revokeToken: string }[];
}

/**
 * The user's own way out of 3LO links: they prove who they are by signing in to Atlassian again (only
 * `read:me`), then see every 3LO link of their account and can disconnect any. State and revoke tokens are
 * sealed with the secret box (so nothing is stored for them), bound to a purpose and short-lived.
 */
export function createOAuthManage(deps: { repos: Repositories; links: Links; box: SecretBox; clock: Clock; endpoints: AtlassianEndpoints; fetch: typeof fetch; app: OAuthApp }) {
  const seal = (context: string, payload: Record<string, unknown>) => deps.box.seal(JSON.stringify(payload), context);
  const open = (context: string, token: string): Record<string, unknown> => {
    try {
      const payload = JSON.parse(deps.box.open(token, context)) as Record<string, unknown>;
      if (typeof payload['exp'] !== 'number' || payload['exp'] <= deps.clock.now()) throw new GatewayError('LINK_SESSION_EXPIRED', 'This page has expired; start again.');
      return payload;
    } catch (e) {
      if (e instanceof GatewayError && e.code === 'LINK_SESSION_EXPIRED') throw e;
      throw new GatewayError('LINK_SESSION_INVALID', 'This request is not valid; start again.', { cause: e });
    }
  };

  return {
    isManageState: (state: string | undefined) => typeof state === 'string' && state.startsWith(MANAGE_PREFIX),

    /** Where to send a user who wants to see or end their 3LO links. */
    start(): string {
      const state = MANAGE_PREFIX + seal(STATE_CONTEXT, { exp: deps.clock.now() + STATE_TTL_MS, n: randomBytes(8).toString('hex') });
      return buildAuthorizeUrl({ authorizeEndpoint: deps.endpoints.authorizeUrl, clientId: deps.app.clientId, redirectUri: deps.app.redirectUri, scopes: ['read:me'], state });
    },

    async callback(query: { state: string; code?: string; error?: string }): Promise<ManageView> {
      open(STATE_CONTEXT, query.state.slice(MANAGE_PREFIX.length));
      if (query.error || !query.code) throw new GatewayError('LINK_SESSION_INVALID', 'The sign-in was cancelled; nothing changed.');
      const tokens = await processTokenResponse(
        await authorizationCodeRequest({ tokenEndpoint: deps.endpoints.tokenUrl, clientId: deps.app.clientId, clientSecret: deps.app.clientSecret, code: query.code, redirectUri: deps.app.redirectUri, fetch: deps.fetch }),
        deps.clock,
      );
      // Only who signed in is needed; the tokens of this sign-in are not kept.
      const me = await processMeResponse(await meRequest({ meUrl: deps.endpoints.meUrl, accessToken: tokens.accessToken, fetch: deps.fetch }), deps.clock);
      const links = await deps.repos.links.list({ accountId: me.accountId, route: 'oauth', status: ['pending_confirmation', 'linked', 'reauth_required'] });
      return {
        accountId: me.accountId,
        name: me.name ?? null,
        links: links.map((link) => ({ link, revokeToken: seal(REVOKE_CONTEXT, { linkId: link.id, accountId: me.accountId, exp: deps.clock.now() + REVOKE_TTL_MS }) })),
      };
    },

    async revoke(token: string): Promise<Link> {
      const p = open(REVOKE_CONTEXT, token);
      const link = typeof p['linkId'] === 'string' ? await deps.repos.links.get(p['linkId']) : undefined;
      if (!link || link.accountId !== p['accountId']) throw new GatewayError('NOT_FOUND', 'There is no such link of yours.');
      return deps.links.revoke({ linkId: link.id, actorType: 'user', actorId: link.accountId, reason: 'revoked_by_user' });
    },
  };
}

export type OAuthManage = ReturnType<typeof createOAuthManage>;

import { GatewayError, isGatewayError, type ErrorDetails } from '../../errors.js';
import type { ActingRequest } from '../../identity/acting.js';
import type { LinkSessions } from '../../identity/link-sessions.js';
import type { ApiKey } from '../../store/api-keys-repo.js';
import type { Repositories } from '../../store/repositories.js';

export type WithLinkUrl = <T>(key: ApiKey, req: ActingRequest, run: () => Promise<T>) => Promise<T>;

/** Adds a fresh link URL to USER_NOT_LINKED / REAUTH_REQUIRED so the app can send the user to link at once. */
export function createWithLinkUrl(deps: { repos: Repositories; linkSessions: LinkSessions }): WithLinkUrl {
  const { repos, linkSessions } = deps;
  return async (key, req, run) => {
    try {
      return await run();
    } catch (e) {
      if (!req.externalUserId || !isGatewayError(e) || (e.code !== 'USER_NOT_LINKED' && e.code !== 'REAUTH_REQUIRED')) throw e;
      const cloudId = typeof e.details?.['cloudId'] === 'string' ? e.details['cloudId'] : null;
      const linkId = typeof e.details?.['linkId'] === 'string' ? e.details['linkId'] : null;
      const old = linkId ? await repos.links.get(linkId) : undefined;
      const s = await linkSessions.start({ externalUserId: req.externalUserId, route: old?.route === 'oauth' ? 'oauth' : 'connect', cloudId, apiKeyId: key.id });
      const details: ErrorDetails = { ...(e.details ?? {}), linkUrl: s.url, linkSessionId: s.id, linkExpiresAt: new Date(s.expiresAt).toISOString() };
      throw new GatewayError(e.code, e.message, { details, cause: e });
    }
  };
}

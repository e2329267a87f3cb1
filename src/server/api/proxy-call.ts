import type { Clock } from '../../clock.js';
import { isGatewayError } from '../../errors.js';
import type { ApiKey } from '../../store/api-keys-repo.js';
import { ERROR_STATUS } from '../error-status.js';
import type { ActivityLog } from './activity-log.js';
import type { ApiActing } from './api-acting.js';
import { assertNoDotSegments, forwardRaw, parseProxyPath, type ProxyAnswer, type ProxyOptions, type ProxyRequest } from './proxy.js';
import type { SiteAccess } from './site-access.js';
import type { WithLinkUrl } from './with-link-url.js';

export const PROXY_PREFIX = '/v1/act/';

export interface ProxyCallDeps {
  access: SiteAccess;
  acting: ApiActing;
  withLinkUrl: WithLinkUrl;
  clock: Clock;
  options: ProxyOptions;
  /** Where each call is noted for the admin console's activity view (in memory, never awaited). */
  activity?: ActivityLog;
}

export interface ProxyCallInput {
  /** The authenticated caller. */
  key: ApiKey;
  /** The request URL as the server parsed it (dot segments already resolved). */
  url: URL;
  /** The request target exactly as received, when the server has it (checked for dot segments). */
  rawTarget: string | undefined;
  request: ProxyRequest;
  requestId: string;
}

export type ProxyCall = (input: ProxyCallInput) => Promise<ProxyAnswer>;

/**
 * One act-as proxy call after authentication: the path checked and split, the key's site limit, the
 * acting decision (with a link URL when the user must link first), the request forwarded, and one entry in
 * the activity view whatever the outcome. The Hono route and the proxy's own listener both call this.
 */
export function createProxyCall(deps: ProxyCallDeps): ProxyCall {
  const { access, acting, withLinkUrl, clock, options } = deps;
  return async ({ key, url, rawTarget, request, requestId }) => {
    assertNoDotSegments(rawTarget);
    const target = parseProxyPath(url, PROXY_PREFIX);
    const started = clock.now();
    let client: Awaited<ReturnType<ApiActing['asUser']>> | undefined;
    // A synchronous store into a ring.
    const note = (status: number, upstreamStatus: number | null, error: string | null) =>
      deps.activity?.record({
        at: started,
        requestId,
        caller: key.name,
        externalUserId: target.externalUserId,
        site: target.site,
        accountId: client?.accountId ?? null,
        route: client?.route ?? null,
        method: request.method,
        path: target.apiPath,
        upstreamStatus,
        status,
        error,
        latencyMs: clock.now() - started,
      });
    try {
      await access.assertSite(key, target.site);
      const req = { site: target.site, externalUserId: target.externalUserId };
      client = await withLinkUrl(key, req, () => acting.asUser(req));
      const answer = await forwardRaw(client, target, request, options);
      note(answer.status, answer.status, null);
      return answer;
    } catch (e) {
      note(isGatewayError(e) ? ERROR_STATUS[e.code] : 500, null, isGatewayError(e) ? e.code : 'INTERNAL');
      throw e;
    }
  };
}

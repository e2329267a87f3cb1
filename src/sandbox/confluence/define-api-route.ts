import type { Context, Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { SandboxEnv } from '../http/sandbox-env.js';
import { principalApp, resolvePrincipal } from '../auth/resolve-principal.js';
import { hasConnectScope } from '../auth/connect-scopes.js';
import type { ConnectScope } from '../state/types.js';

export interface ApiRouteRequirement {
  /** Connect scope the operation needs (`x-atlassian-connect-scope`); `INACCESSIBLE` refuses Connect callers. */
  connect: ConnectScope | 'INACCESSIBLE';
  /** 3LO scopes of which the token must hold at least one. */
  oauth: string[];
}

export type ApiHandler = (c: Context<SandboxEnv>) => Response | Promise<Response>;

const SCOPE_MISMATCH = { code: 401, message: 'Unauthorized; scope does not match' };

/**
 * Registers an API route with authentication, the scope check for the credential kind, and the
 * per-app/user/route counter. `path` is relative to `/wiki` (e.g. `/api/v2/pages/:id`).
 */
export function defineApiRoute(
  deps: SandboxDeps,
  app: Hono<SandboxEnv>,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  requirement: ApiRouteRequirement,
  handler: ApiHandler,
): void {
  const routeName = `${method} ${path.replace(/:([a-zA-Z]+)/g, '{$1}')}`;
  app.on(method, path, async (c) => {
    const site = c.get('site');
    const via = c.get('via');
    const url = c.req.url;
    const contextPath = new URL(c.get('apiBase')).pathname;
    const resolved = resolvePrincipal(deps, {
      authorization: c.req.header('authorization'),
      method,
      url,
      site,
      via,
      contextPath,
      hasQueryJwt: new URL(url).searchParams.has('jwt'),
    });
    const record = (status: number, app: string | null, user: string | null): void => {
      deps.counters.record('api_call', { app, user, route: routeName, site: site.key });
      deps.counters.log({ at: deps.clock.now(), kind: 'api_call', method, path: new URL(url).pathname, status, app, user, site: site.key, route: routeName });
    };
    if (!resolved.ok) {
      record(401, null, null);
      return c.json({ code: 401, message: resolved.message }, 401);
    }
    const p = resolved.principal;
    if (p.kind === '3lo' && !requirement.oauth.some((s) => p.scopes.includes(s))) {
      record(401, p.clientId, p.user.accountId);
      return c.json(SCOPE_MISMATCH, 401);
    }
    if (p.kind === 'forge' && !requirement.oauth.some((s) => p.scopes.includes(s))) {
      record(401, p.installation.appId, p.user.accountId);
      return c.json(SCOPE_MISMATCH, 401);
    }
    if (p.kind === 'basic' && p.scopes !== null && !requirement.oauth.some((s) => p.scopes!.includes(s))) {
      record(401, null, p.user.accountId);
      return c.json(SCOPE_MISMATCH, 401);
    }
    if (p.kind === 'connect' || p.kind === 'impersonation') {
      const ok = requirement.connect !== 'INACCESSIBLE' && hasConnectScope(p.connectScopes, requirement.connect);
      if (!ok) {
        record(403, p.install.appKey, p.user.accountId);
        return c.json(
          { statusCode: 403, message: `The app "${p.install.appKey}" does not have the required scope (${requirement.connect}) for ${routeName}` },
          403,
        );
      }
    }
    c.set('principal', p);
    const res = await handler(c);
    record(res.status, principalApp(p), p.user.accountId);
    return res;
  });
}

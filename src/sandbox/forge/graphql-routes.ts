import type { Context, Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';
import { canUseSite } from '../state/permissions.js';
import { mintForgeToken } from './forge-tokens.js';
import type { ForgeInstallation, ForgeToken } from './forge-types.js';

/**
 * `POST /graphql`: the one operation a remote needs, `offlineUserAuthToken` (§10.6, §10.10). The system token
 * is exchanged for a token acting as `userId`, scoped to the manifest's scopes with `allowImpersonation`.
 * Refusals answer `success: false` with `errors[{message}]` and `authToken: null` [I], except a service or app
 * account (HTTP-401-style GraphQL error, ID-9158) and the per-app rate limit (HTTP 429 with the gateway's
 * GraphQL error shape [I]). Any other query answers a GraphQL error saying it is not emulated.
 */

const WORKSPACE = /^ari:cloud:confluence:([0-9a-f-]{36}):workspace\/([0-9a-f-]{36})$/;
const SITE = /^ari:cloud:confluence::site\/([0-9a-f-]{36})$/;
const CONTEXT_MISMATCH = 'Could not load permissions for app user in the provided contextIds';

type Refusal = { message: string };

function graphqlError(c: Context, status: 200 | 400 | 401 | 429, message: string, extensions: Record<string, unknown>, headers: Record<string, string> = {}): Response {
  return c.json({ errors: [{ message, extensions }], data: null }, status, headers);
}

export function registerForgeGraphqlRoutes(deps: SandboxDeps, app: Hono): void {
  /** Sliding one-minute window per app on the sandbox clock; every exchange counts, granted or not. */
  const overLimit = (appId: string): number | null => {
    const now = deps.clock.now();
    const windows = deps.state.forgeOfflineWindows;
    const recent = (windows.get(appId) ?? []).filter((t) => t > now - 60_000);
    if (recent.length >= deps.settings.forgeOfflineTokenLimitPerMinute) {
      windows.set(appId, recent);
      return Math.max(1, Math.ceil((recent[0]! + 60_000 - now) / 1000));
    }
    recent.push(now);
    windows.set(appId, recent);
    return null;
  };

  const contextRefusal = (contextIds: unknown, cloudId: string): Refusal | null => {
    if (!Array.isArray(contextIds) || contextIds.length === 0 || !contextIds.every((x) => typeof x === 'string')) return { message: 'contextIds must be a non-empty list of context ARIs' };
    const form = deps.settings.forgeContextIdForm;
    for (const id of contextIds as string[]) {
      const w = WORKSPACE.exec(id);
      const s = SITE.exec(id);
      const formOk = (w && form !== 'site') || (s && form !== 'workspace');
      const sameSite = (w && w[1] === cloudId && w[2] === cloudId) || (s && s[1] === cloudId);
      if (!formOk || !sameSite) return { message: CONTEXT_MISMATCH };
    }
    return null;
  };

  const userRefusal = (inst: ForgeInstallation, userId: unknown): Refusal | { status: 401 } | null => {
    if (typeof userId !== 'string' || userId === '') return { message: 'userId is required' };
    const user = deps.state.users.get(userId);
    if (!user) return { message: `User ${userId} was not found` };
    if (user.accountType === 'app') return { status: 401 };
    if (user.accountStatus !== 'active') return { message: `User ${userId} is deactivated and cannot be impersonated` };
    const access = canUseSite(deps.state, user, inst.siteKey) && !inst.blockedUsers.includes(userId) && (inst.distribution === 'shared' || inst.contributors.includes(userId));
    if (!access) return { message: `User ${userId} does not have access to the app` };
    return null;
  };

  app.post('/graphql', async (c) => {
    const header = c.req.header('authorization') ?? '';
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    const record: ForgeToken | undefined = token ? deps.state.forgeTokens.get(token) : undefined;
    const inst = record ? deps.state.forgeInstallations.get(record.installationId) : undefined;
    if (!record || !inst || !inst.installed || record.expiresAt <= deps.clock.now()) {
      return graphqlError(c, 401, 'Unauthorized', { statusCode: 401, errorType: 'UNAUTHENTICATED' });
    }
    let body: { query?: unknown; variables?: { input?: { contextIds?: unknown; userId?: unknown } } };
    try {
      body = (await c.req.json()) as typeof body;
    } catch {
      return graphqlError(c, 400, 'The request body must be JSON: {"query": ..., "variables": ...}', { statusCode: 400, errorType: 'BAD_REQUEST' });
    }
    if (typeof body.query !== 'string' || !/\bofflineUserAuthToken\s*\(/.test(body.query)) {
      return graphqlError(c, 200, 'The sandbox emulates only the offlineUserAuthToken mutation of the GraphQL API', { statusCode: 400, errorType: 'NOT_EMULATED' });
    }
    if (record.kind !== 'system') {
      return graphqlError(c, 200, 'offlineUserAuthToken needs the app system token', { statusCode: 403, errorType: 'FORBIDDEN' });
    }
    const retryAfter = overLimit(inst.appId);
    if (retryAfter !== null) {
      return graphqlError(c, 429, `Rate limit exceeded: offline user impersonation tokens are limited to ${deps.settings.forgeOfflineTokenLimitPerMinute} requests per minute per app`, { statusCode: 429, errorType: 'RATE_LIMITED' }, { 'retry-after': String(retryAfter) });
    }
    const input = body.variables?.input ?? {};
    const site = deps.state.siteByKey(inst.siteKey)!;
    const refuse = (message: string) => {
      deps.counters.record('offline_token_refused', { app: inst.appId, user: typeof input.userId === 'string' ? input.userId : null, site: site.key, route: message });
      return c.json({ data: { offlineUserAuthToken: { success: false, errors: [{ message }], authToken: null } } });
    };
    const ctx = contextRefusal(input.contextIds, site.cloudId);
    if (ctx) return refuse(ctx.message);
    const impersonable = inst.current.manifest.scopes.filter((s) => s.allowImpersonation).map((s) => s.name);
    if (impersonable.length === 0) return refuse('The app declares no scopes with allowImpersonation: true, so it cannot impersonate users');
    const who = userRefusal(inst, input.userId);
    if (who && 'status' in who) {
      return graphqlError(c, 200, 'Service accounts and app users cannot be impersonated', { statusCode: 401, errorType: 'UNAUTHORIZED' });
    }
    if (who) return refuse(who.message);
    const userId = input.userId as string;
    const ttlSeconds = deps.settings.forgeOfflineTokenTtlSeconds;
    const minted = mintForgeToken(deps, { kind: 'offline', installation: inst, accountId: userId, scopes: impersonable, ttlMs: ttlSeconds * 1000 });
    deps.counters.record('offline_token_grant', { app: inst.appId, user: userId, site: site.key, route: null });
    return c.json({ data: { offlineUserAuthToken: { success: true, errors: null, authToken: { token: minted.token, ttl: ttlSeconds } } } });
  });
}

import type { MiddlewareHandler } from 'hono';
import type { Clock } from '../../clock.js';
import { forgeAppTokenExpiry } from '../../atlassian/forge-app-token.js';
import type { ForgeInvocation, ForgeTokenVerifier } from '../../atlassian/verify-forge-invocation-token.js';
import type { Tenant } from '../../store/tenants-repo.js';
import type { ForgeInstallations } from '../../tenants/forge-installation.js';

export interface ForgeAuth {
  invocation: ForgeInvocation;
  tenant: Tenant;
  /** `x-forge-oauth-user` when Forge sent one (UI calls with a user in session): acts as `principal`. */
  userToken: string | null;
}

export type ForgeAuthVariables = { forge: ForgeAuth };

/**
 * Authenticates every call Forge makes to the gateway as a remote by its invocation token, then records what
 * it says: the installation (created, recovered after a reinstall, or refreshed) and the app system token it
 * carries. A failure is FORGE_TOKEN_INVALID, a 401 with a JSON body, which Forge reports as "Remote could not
 * verify the Forge Invocation Token" and retries for events; nothing is recorded then.
 */
export function forgeInvocationAuth(deps: { verifier: ForgeTokenVerifier; installations: ForgeInstallations; clock: Clock }): MiddlewareHandler<{ Variables: ForgeAuthVariables }> {
  return async (c, next) => {
    const invocation = await deps.verifier.verify(c.req.header('authorization'));
    const system = c.req.header('x-forge-oauth-system');
    const tenant = await deps.installations.seen(invocation, system ? { token: system, expiresAt: forgeAppTokenExpiry(system, deps.clock) } : null);
    c.set('forge', { invocation, tenant, userToken: c.req.header('x-forge-oauth-user') ?? null });
    await next();
  };
}

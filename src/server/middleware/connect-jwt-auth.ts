import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Clock } from '../../clock.js';
import { GatewayError } from '../../errors.js';
import { extractConnectJwt } from '../../atlassian/extract-connect-jwt.js';
import { verifyConnectJwt, type VerifiedConnectJwt } from '../../atlassian/verify-connect-jwt.js';
import type { Repositories } from '../../store/repositories.js';
import type { Tenant } from '../../store/tenants-repo.js';

export interface ConnectAuth {
  tenant: Tenant;
  claims: VerifiedConnectJwt;
  /** SHA-256 (hex) of the verified token: identifies it (replay checks) without keeping the bearer value. */
  tokenDigest: string;
}

export type ConnectAuthVariables = { connect: ConnectAuth };

export interface ConnectJwtAuthDeps {
  repos: Repositories;
  clock: Clock;
  appKey: string;
  /** Path of the descriptor's baseUrl, stripped before hashing (protocol doc §1.3). */
  contextPath: string;
  leewaySeconds: number;
}

/**
 * Authenticates a request from the product (iframe load, webhook) by its Connect JWT: HS256 with the
 * tenant's shared secret, `exp` required, qsh computed by our canonicaliser. Context tokens
 * (`qsh: "context-qsh"`) pass only where `allowContextQsh` is set, and real-qsh tokens are refused there.
 * The token may come in the query, a form body or `Authorization: JWT`; query and body together are refused.
 */
export function connectJwtAuth(deps: ConnectJwtAuthDeps, options: { allowContextQsh: boolean }): MiddlewareHandler<{ Variables: ConnectAuthVariables }> {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const isForm = (c.req.header('content-type') ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
    const formBody = isForm ? await c.req.raw.clone().text() : undefined;
    const found = extractConnectJwt({ query: url.search.slice(1), formBody, authorizationHeader: c.req.header('authorization') });
    if (!found) throw new GatewayError('UNAUTHENTICATED', 'This endpoint is called by Confluence with a Connect JWT; none was found.');
    let tenant: Tenant | undefined;
    const claims = await verifyConnectJwt(found.token, {
      async getSharedSecret(clientKey) {
        tenant = await deps.repos.tenants.find('connect', deps.appKey, clientKey);
        if (!tenant || tenant.status === 'uninstalled') return undefined;
        return deps.repos.tenants.sharedSecret(tenant.id);
      },
      request: { method: c.req.method, url: `${url.pathname}${url.search}`, ...(formBody !== undefined ? { formBody } : {}) },
      contextPath: deps.contextPath,
      clock: deps.clock,
      leewaySeconds: deps.leewaySeconds,
      allowContextQsh: options.allowContextQsh,
    });
    if (!tenant) throw new GatewayError('TENANT_UNKNOWN', 'The JWT names a site that has not installed this app.');
    c.set('connect', { tenant, claims, tokenDigest: createHash('sha256').update(found.token).digest('hex') });
    await next();
  };
}

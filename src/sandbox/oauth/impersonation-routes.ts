import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';
import { decodeJwt, verifyHmacSignature } from '../jwt/hs256.js';
import { hasConnectScope, isConnectScope } from '../auth/connect-scopes.js';
import type { ConnectScope } from '../state/types.js';
import { oauthError, readForm } from './oauth-error.js';
import { sweepExpired } from '../state/sweep-expired.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ISS_PREFIX = 'urn:atlassian:connect:clientid:';
const SUB_PREFIX = 'urn:atlassian:connect:useraccountid:';

/**
 * The user-impersonation server (`POST /oauth2/token`, JWT-bearer grant, protocol doc §3 and Appendix A.4).
 * Errors: 400 RFC 6749 bodies ([I] on codes and descriptions, documented in docs/sandbox.md).
 */
export function registerImpersonationRoutes(deps: SandboxDeps, app: Hono): void {
  const { state, clock } = deps;
  app.post('/oauth2/token', async (c) => {
    const form = await readForm(c);
    const grantType = form.get('grant_type');
    if (!grantType) return oauthError(c, 400, 'invalid_request', 'grant_type is required');
    if (grantType !== GRANT) return oauthError(c, 400, 'unsupported_grant_type', `grant_type must be ${GRANT}`);
    const assertion = form.get('assertion');
    if (!assertion) return oauthError(c, 400, 'invalid_request', 'assertion is required');
    const decoded = decodeJwt(assertion);
    if (!decoded) return oauthError(c, 400, 'invalid_grant', 'assertion is not a JWT');
    if (decoded.header['alg'] !== 'HS256') return oauthError(c, 400, 'invalid_grant', 'assertion must be signed with HS256');
    const claims = decoded.payload;
    const iss = claims['iss'];
    if (typeof iss !== 'string' || !iss.startsWith(ISS_PREFIX)) return oauthError(c, 400, 'invalid_grant', `iss must be ${ISS_PREFIX}{oauthClientId}`);
    const install = state.installByOauthClientId(iss.slice(ISS_PREFIX.length));
    if (!install || !install.installed) return oauthError(c, 400, 'invalid_grant', 'unknown oauthClientId');
    if (!verifyHmacSignature(decoded, install.sharedSecret)) return oauthError(c, 400, 'invalid_grant', 'assertion signature is invalid');
    const aud = claims['aud'];
    const audOk = (a: unknown): boolean => typeof a === 'string' && a.replace(/\/+$/, '') === deps.urls.authServer;
    if (!(audOk(aud) || (Array.isArray(aud) && aud.length === 1 && audOk(aud[0])))) {
      return oauthError(c, 400, 'invalid_grant', `aud must be ${deps.urls.authServer}`);
    }
    const expectedTnt = deps.urls.siteBaseUrl(install.siteKey);
    if (claims['tnt'] !== expectedTnt) return oauthError(c, 400, 'invalid_grant', `tnt must be the instance base URL ${expectedTnt}`);
    const iat = claims['iat'];
    const exp = claims['exp'];
    const now = Math.floor(clock.now() / 1000);
    if (typeof iat !== 'number' || typeof exp !== 'number') return oauthError(c, 400, 'invalid_grant', 'iat and exp are required');
    if (exp - iat > 60) return oauthError(c, 400, 'invalid_grant', 'assertion lifetime (exp - iat) must be at most 60 seconds');
    if (exp <= iat) return oauthError(c, 400, 'invalid_grant', 'exp must be after iat');
    if (now >= exp) return oauthError(c, 400, 'invalid_grant', 'assertion has expired');
    if (iat > now + 60) return oauthError(c, 400, 'invalid_grant', 'iat is in the future');
    if (!install.enabled) return oauthError(c, 400, 'invalid_grant', 'the app is disabled on this site');
    if (!install.scopes.includes('ACT_AS_USER')) return oauthError(c, 400, 'invalid_grant', 'the app does not have the ACT_AS_USER scope');
    const sub = claims['sub'];
    if (typeof sub !== 'string' || !sub.startsWith(SUB_PREFIX)) {
      return oauthError(c, 400, 'invalid_grant', `sub must be ${SUB_PREFIX}{accountId} (userkey subjects are no longer supported)`);
    }
    const accountId = sub.slice(SUB_PREFIX.length);
    const user = state.userOnSite(accountId, install.siteKey);
    if (!user) return oauthError(c, 400, 'invalid_grant', 'the user does not exist on this site');
    if (user.accountStatus !== 'active') return oauthError(c, 400, 'invalid_grant', 'the user is not active');

    let scopes: ConnectScope[] = install.scopes.filter((s) => s !== 'ACT_AS_USER');
    const scopeParam = form.get('scope');
    if (scopeParam !== null && scopeParam.trim() !== '') {
      const requested = scopeParam.trim().split(/\s+/);
      for (const s of requested) {
        if (s !== s.toUpperCase() || !isConnectScope(s)) return oauthError(c, 400, 'invalid_scope', `scope "${s}" is not an upper-case Connect scope`);
        if (!hasConnectScope(install.scopes, s)) return oauthError(c, 400, 'invalid_scope', `scope "${s}" is not granted to the app`);
      }
      scopes = requested as ConnectScope[];
    }
    const token = randomBytes(32).toString('base64url');
    const ttl = deps.settings.impersonationTokenTtlSeconds;
    sweepExpired(state.impersonationTokens, clock.now());
    state.impersonationTokens.set(token, { token, siteKey: install.siteKey, appKey: install.appKey, accountId, scopes, expiresAt: clock.now() + ttl * 1000 });
    deps.counters.record('impersonation_grant', { app: install.appKey, user: accountId, site: install.siteKey, route: 'POST /oauth2/token' });
    c.header('Cache-Control', 'no-store');
    return c.json({ access_token: token, expires_in: ttl, token_type: 'Bearer' });
  });
}

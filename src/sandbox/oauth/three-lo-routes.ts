import { randomBytes } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { OAuthClient, RefreshFamily } from '../state/types.js';
import { signHmacJwt } from '../jwt/hs256.js';
import { oauthError, readForm, readJsonOrForm } from './oauth-error.js';
import { redirectUriMatches } from './redirect-uri-matches.js';
import { sessionUser } from '../pages/session.js';
import { sweepExpired } from '../state/sweep-expired.js';
import { SANDBOX_HEAD } from '../pages/page-head.js';

const INVALID_REFRESH = 'Unknown or invalid refresh token.';

export interface ThreeLo {
  /** Issue an authorization code without the browser dance (control API shortcut). */
  issueCode(input: { clientId: string; accountId: string; redirectUri: string; scopes: string[] }): string;
}

/**
 * OAuth 2.0 3LO (§5): `/authorize` with sign-in and consent, `/oauth/token` (authorization_code and
 * rotating refresh tokens with reuse leeway and family revocation), accessible-resources and `/me`.
 */
export function registerThreeLoRoutes(deps: SandboxDeps, app: Hono): ThreeLo {
  const { state, clock } = deps;
  const tokenSigningSecret = randomBytes(32).toString('base64url');
  const consents = new Map<string, { accountId: string; clientId: string; redirectUri: string; scopes: string[]; state: string }>();

  const randomToken = (): string => randomBytes(32).toString('base64url');

  const issueCode: ThreeLo['issueCode'] = ({ clientId, accountId, redirectUri, scopes }) => {
    const code = randomToken();
    sweepExpired(state.authorizationCodes, clock.now());
    state.authorizationCodes.set(code, { code, clientId, accountId, redirectUri, scopes, expiresAt: clock.now() + deps.settings.authorizationCodeTtlMs, used: false });
    return code;
  };

  type AuthorizeCheck = { ok: true; client: OAuthClient; redirectUri: string; scopes: string[]; state: string } | { ok: false; response: Response | Promise<Response> };
  const validateAuthorize = (c: Context, q: (k: string) => string | undefined): AuthorizeCheck => {
    const fail = (msg: string): AuthorizeCheck => ({ ok: false, response: c.html(html`<!doctype html><h1>Something went wrong</h1><p id="error">${msg}</p>`, 400) });
    const client = state.oauthClients.get(q('client_id') ?? '');
    if (!client) return fail('Unknown client_id');
    const redirectUri = q('redirect_uri') ?? '';
    if (!redirectUriMatches(client.redirectUris, redirectUri)) return fail('redirect_uri does not match the callback URL of the app');
    const st = q('state');
    if (!st) return fail('state is required');
    const responseType = q('response_type');
    if (responseType !== undefined && responseType !== 'code') return fail('response_type must be code');
    const scopes = (q('scope') ?? '').split(/\s+/).filter(Boolean);
    const redirectError = (error: string, description: string): AuthorizeCheck => {
      const u = new URL(redirectUri);
      u.searchParams.set('error', error);
      u.searchParams.set('error_description', description);
      u.searchParams.set('state', st);
      return { ok: false, response: c.redirect(u.toString(), 302) };
    };
    if (scopes.length === 0) return redirectError('invalid_scope', 'scope is required');
    const unknown = scopes.filter((s) => !client.scopes.includes(s));
    if (unknown.length > 0) return redirectError('invalid_scope', `scopes not configured for this app: ${unknown.join(' ')}`);
    return { ok: true, client, redirectUri, scopes, state: st };
  };

  app.get('/authorize', (c) => {
    const v = validateAuthorize(c, (k) => c.req.query(k));
    if (!v.ok) return v.response;
    const user = sessionUser(deps, c);
    if (!user) {
      const u = new URL(c.req.url);
      return c.redirect(`/login?returnTo=${encodeURIComponent(u.pathname + u.search)}`, 302);
    }
    const nonce = randomToken();
    consents.set(nonce, { accountId: user.accountId, clientId: v.client.clientId, redirectUri: v.redirectUri, scopes: v.scopes, state: v.state });
    return c.html(html`<!doctype html>
<html><head><meta charset="utf-8"><title>Consent - onbehalf sandbox</title>${SANDBOX_HEAD}</head>
<body>
<h1>${v.client.name} is requesting access to your Atlassian account</h1>
<p>Signed in as <strong>${user.displayName}</strong></p>
<ul id="scopes">${v.scopes.map((s) => html`<li data-scope="${s}">${s}</li>`)}</ul>
<form method="post" action="/authorize/decision">
<input type="hidden" name="consent" value="${nonce}">
<button type="submit" name="decision" value="accept" id="accept">Accept</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
</body></html>`);
  });

  app.post('/authorize/decision', async (c) => {
    const form = await readForm(c);
    const nonce = form.get('consent') ?? '';
    const consent = consents.get(nonce);
    const user = sessionUser(deps, c);
    if (!consent || !user || user.accountId !== consent.accountId) return c.html(html`<!doctype html><h1>Consent expired</h1>`, 400);
    consents.delete(nonce);
    const u = new URL(consent.redirectUri);
    if (form.get('decision') === 'accept') {
      u.searchParams.set('code', issueCode({ clientId: consent.clientId, accountId: consent.accountId, redirectUri: consent.redirectUri, scopes: consent.scopes }));
    } else {
      u.searchParams.set('error', 'access_denied');
      u.searchParams.set('error_description', 'The user denied access to the app.');
    }
    u.searchParams.set('state', consent.state);
    return c.redirect(u.toString(), 302);
  });

  const issueTokens = (clientId: string, accountId: string, scopes: string[], family: RefreshFamily | null) => {
    const now = clock.now();
    const ttl = deps.settings.accessTokenTtlSeconds;
    const iat = Math.floor(now / 1000);
    const accessToken = signHmacJwt(
      { iss: deps.origin, sub: accountId, aud: 'api.atlassian.com', client_id: clientId, scope: scopes.join(' '), iat, exp: iat + ttl, jti: randomToken() },
      tokenSigningSecret,
    );
    sweepExpired(state.accessTokens, now);
    state.accessTokens.set(accessToken, { token: accessToken, clientId, accountId, scopes, expiresAt: now + ttl * 1000, familyId: family?.id ?? '' });
    const body: Record<string, unknown> = { access_token: accessToken, expires_in: ttl, token_type: 'Bearer', scope: scopes.join(' ') };
    if (family) {
      const refresh = randomToken();
      state.refreshTokens.set(refresh, { token: refresh, familyId: family.id, issuedAt: now, usedAt: null });
      body['refresh_token'] = refresh;
    }
    return body;
  };

  app.post('/oauth/token', async (c) => {
    const body = await readJsonOrForm(c);
    const grantType = body['grant_type'];
    if (grantType === 'client_credentials') {
      // Service accounts (§8.4): body shape NOT FOUND; JSON or form with client_id/client_secret [I]; `audience` ignored.
      const account = state.serviceAccounts.get(body['client_id'] ?? '');
      if (!account || body['client_secret'] !== account.clientSecret) return oauthError(c, 401, 'access_denied', 'Unauthorized');
      const user = state.users.get(account.accountId);
      if (!user || user.accountStatus !== 'active') return oauthError(c, 403, 'invalid_grant', 'The service account is not active');
      const requested = (body['scope'] ?? '').split(/\s+/).filter(Boolean);
      const outside = requested.filter((s) => !account.scopes.includes(s));
      if (outside.length > 0) return oauthError(c, 403, 'access_denied', `scopes not granted to the service account: ${outside.join(' ')}`);
      c.header('Cache-Control', 'no-store');
      deps.counters.record('client_credentials_grant', { app: account.clientId, user: account.accountId, route: 'POST /oauth/token' });
      return c.json(issueTokens(account.clientId, account.accountId, requested.length > 0 ? requested : account.scopes, null));
    }
    const client = state.oauthClients.get(body['client_id'] ?? '');
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
      return oauthError(c, 400, 'unsupported_grant_type', 'grant_type must be authorization_code, refresh_token or client_credentials');
    }
    if (!client || body['client_secret'] !== client.clientSecret) return oauthError(c, 401, 'access_denied', 'Unauthorized');
    c.header('Cache-Control', 'no-store');
    if (grantType === 'authorization_code') {
      const code = state.authorizationCodes.get(body['code'] ?? '');
      if (!code || code.used || code.clientId !== client.clientId || code.expiresAt <= clock.now()) return oauthError(c, 403, 'invalid_grant', 'Invalid authorization code');
      if (code.redirectUri !== body['redirect_uri']) return oauthError(c, 403, 'invalid_grant', 'redirect_uri does not match the one used in the authorization request');
      code.used = true;
      const user = state.users.get(code.accountId);
      if (!user || user.accountStatus !== 'active') return oauthError(c, 403, 'invalid_grant', 'Invalid authorization code');
      let family: RefreshFamily | null = null;
      if (code.scopes.includes('offline_access')) {
        family = { id: randomToken(), clientId: client.clientId, accountId: code.accountId, scopes: code.scopes, createdAt: clock.now(), revokedAt: null, revokeReason: null };
        state.refreshFamilies.set(family.id, family);
      }
      deps.counters.record('authorization_code_grant', { app: client.clientId, user: code.accountId, route: 'POST /oauth/token' });
      return c.json(issueTokens(client.clientId, code.accountId, code.scopes, family));
    }
    // refresh_token
    const now = clock.now();
    const record = state.refreshTokens.get(body['refresh_token'] ?? '');
    const family = record ? state.refreshFamilies.get(record.familyId) : undefined;
    if (!record || !family || family.clientId !== client.clientId) return oauthError(c, 403, 'invalid_grant', INVALID_REFRESH);
    if (family.revokedAt !== null) return oauthError(c, 403, 'invalid_grant', INVALID_REFRESH);
    if (now >= family.createdAt + deps.settings.refreshTokenAbsoluteMs) return oauthError(c, 403, 'invalid_grant', INVALID_REFRESH);
    if (now >= record.issuedAt + deps.settings.refreshTokenInactivityMs) return oauthError(c, 403, 'invalid_grant', INVALID_REFRESH);
    if (record.usedAt !== null && now > record.usedAt + deps.settings.refreshTokenReuseLeewayMs) {
      family.revokedAt = now;
      family.revokeReason = 'refresh token reused after the leeway';
      return oauthError(c, 403, 'invalid_grant', INVALID_REFRESH);
    }
    const user = state.users.get(family.accountId);
    if (!user || user.accountStatus !== 'active') return oauthError(c, 403, 'invalid_grant', INVALID_REFRESH);
    if (record.usedAt === null) record.usedAt = now;
    deps.counters.record('refresh_grant', { app: client.clientId, user: family.accountId, route: 'POST /oauth/token' });
    return c.json(issueTokens(client.clientId, family.accountId, family.scopes, family));
  });

  const bearer = (c: Context) => {
    const h = c.req.header('authorization') ?? '';
    const token = h.toLowerCase().startsWith('bearer ') ? h.slice(7).trim() : '';
    const at = state.accessTokens.get(token);
    if (!at || at.expiresAt <= clock.now()) return null;
    const user = state.users.get(at.accountId);
    if (!user || user.accountStatus !== 'active') return null;
    return { at, user };
  };

  app.get('/oauth/token/accessible-resources', (c) => {
    const b = bearer(c);
    if (!b) return c.json({ code: 401, message: 'Unauthorized' }, 401);
    const sites = [...state.sites.values()].filter((s) => state.userOnSite(b.user.accountId, s.key));
    return c.json(
      sites.map((s) => ({
        id: s.cloudId,
        name: s.name,
        url: deps.urls.siteBaseUrl(s.key).replace(/\/wiki$/, ''),
        scopes: b.at.scopes.filter((x) => x !== 'offline_access'),
        avatarUrl: `${deps.origin}/_sandbox/avatar.png`,
      })),
    );
  });

  app.get('/me', (c) => {
    const b = bearer(c);
    if (!b) return c.json({ code: 401, message: 'Unauthorized' }, 401);
    if (!b.at.scopes.includes('read:me')) return c.json({ code: 401, message: 'Unauthorized; scope does not match' }, 401);
    const u = b.user;
    return c.json({
      account_type: u.accountType,
      account_id: u.accountId,
      email: u.email,
      email_verified: true,
      name: u.displayName,
      picture: `${deps.origin}/_sandbox/avatar.png`,
      account_status: u.accountStatus,
      nickname: u.nickname,
      zoneinfo: u.timeZone ?? 'UTC',
      locale: u.locale,
      extended_profile: {},
    });
  });

  return { issueCode };
}

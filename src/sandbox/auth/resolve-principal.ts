import type { SandboxDeps } from '../sandbox-deps.js';
import { verifyConnectJwt } from '../jwt/verify-connect-jwt.js';
import type { ConnectInstall, ConnectScope, SandboxSite, SandboxUser } from '../state/types.js';
import { canUseSite } from '../state/permissions.js';
import type { ForgeInstallation, ForgeTokenKind } from '../forge/forge-types.js';

export type Principal =
  | { kind: 'connect'; install: ConnectInstall; user: SandboxUser; connectScopes: ConnectScope[] }
  | { kind: 'impersonation'; install: ConnectInstall; user: SandboxUser; connectScopes: ConnectScope[] }
  | { kind: '3lo'; clientId: string; user: SandboxUser; scopes: string[] }
  | { kind: 'basic'; user: SandboxUser; scopes: string[] | null }
  | { kind: 'forge'; installation: ForgeInstallation; tokenKind: ForgeTokenKind; user: SandboxUser; scopes: string[] };

export type Via = 'site' | 'gateway';

export interface ResolvePrincipalInput {
  authorization: string | undefined;
  method: string;
  url: string;
  site: SandboxSite;
  via: Via;
  /** Path prefix before the product-relative path, e.g. `/s/acme/wiki` (qsh is computed after it). */
  contextPath: string;
  hasQueryJwt: boolean;
}

export type ResolvePrincipalResult = { ok: true; principal: Principal } | { ok: false; message: string };

/**
 * Which credential kinds each path accepts (Appendix A.6): the site path takes Connect JWT, Basic and
 * JWT-bearer (2LOi) Bearer tokens; the `api.atlassian.com`-style gateway path takes 3LO Bearer tokens.
 */
export function resolvePrincipal(deps: SandboxDeps, input: ResolvePrincipalInput): ResolvePrincipalResult {
  const { state, clock } = deps;
  const header = input.authorization ?? '';
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const credential = space < 0 ? '' : header.slice(space + 1).trim();
  if (header === '') {
    return { ok: false, message: input.hasQueryJwt ? 'Connect JWTs in the query string are not accepted by this API' : 'Unauthorized' };
  }
  const activeOnSite = (user: SandboxUser | undefined): user is SandboxUser => user !== undefined && canUseSite(state, user, input.site.key);

  if (scheme === 'jwt') {
    if (input.via !== 'site') return { ok: false, message: 'Connect JWT is only accepted at the site base URL' };
    let found: ConnectInstall | undefined;
    const result = verifyConnectJwt({
      token: credential,
      secretFor: ({ iss, clientKey }) => {
        found = [...state.installs.values()].find((i) => i.siteKey === input.site.key && i.appKey === iss && i.installed);
        if (!found) return null;
        if (clientKey !== iss && clientKey !== found.clientKey) return null;
        return found.sharedSecret;
      },
      method: input.method,
      url: input.url,
      contextPath: input.contextPath,
      nowSeconds: Math.floor(clock.now() / 1000),
      leewaySeconds: deps.settings.jwtLeewaySeconds,
      qsh: 'required',
    });
    if (!result.ok) return { ok: false, message: result.message };
    const install = found!;
    if (!install.enabled) return { ok: false, message: 'App is disabled on this site' };
    const user = state.users.get(install.appUserAccountId);
    if (!user) return { ok: false, message: 'App user missing' };
    return { ok: true, principal: { kind: 'connect', install, user, connectScopes: install.scopes } };
  }

  if (scheme === 'bearer') {
    const imp = state.impersonationTokens.get(credential);
    if (imp) {
      if (input.via !== 'site') return { ok: false, message: 'Unauthorized' };
      if (imp.expiresAt <= clock.now()) return { ok: false, message: 'Unauthorized' };
      if (imp.siteKey !== input.site.key) return { ok: false, message: 'Unauthorized' };
      const install = state.installs.get(state.installKey(imp.siteKey, imp.appKey));
      if (!install || !install.installed || !install.enabled) return { ok: false, message: 'Unauthorized' };
      const user = state.users.get(imp.accountId);
      if (!activeOnSite(user)) return { ok: false, message: 'Unauthorized' };
      return { ok: true, principal: { kind: 'impersonation', install, user, connectScopes: imp.scopes } };
    }
    const forge = state.forgeTokens.get(credential);
    if (forge) {
      // Forge tokens call the product through `apiBaseUrl` only (§10.5), for the installation's own site.
      if (input.via !== 'gateway' || forge.expiresAt <= clock.now()) return { ok: false, message: 'Unauthorized' };
      const installation = state.forgeInstallations.get(forge.installationId);
      if (!installation || !installation.installed || installation.siteKey !== input.site.key) return { ok: false, message: 'Unauthorized' };
      const user = state.users.get(forge.accountId);
      if (!activeOnSite(user)) return { ok: false, message: 'Unauthorized' };
      return { ok: true, principal: { kind: 'forge', installation, tokenKind: forge.kind, user, scopes: forge.scopes } };
    }
    const at = state.accessTokens.get(credential);
    if (at) {
      if (input.via !== 'gateway') return { ok: false, message: 'Unauthorized' };
      if (at.expiresAt <= clock.now()) return { ok: false, message: 'Unauthorized' };
      const user = state.users.get(at.accountId);
      if (!activeOnSite(user)) return { ok: false, message: 'Unauthorized' };
      return { ok: true, principal: { kind: '3lo', clientId: at.clientId, user, scopes: at.scopes } };
    }
    return { ok: false, message: 'Unauthorized' };
  }

  if (scheme === 'basic') {
    let decoded = '';
    try {
      decoded = Buffer.from(credential, 'base64').toString('utf8');
    } catch {
      return { ok: false, message: 'Unauthorized' };
    }
    const colon = decoded.indexOf(':');
    const email = decoded.slice(0, colon);
    const token = decoded.slice(colon + 1);
    const user = [...state.users.values()].find((u) => u.email.toLowerCase() === email.toLowerCase());
    if (colon < 0 || !user || user.apiToken === null || user.apiToken !== token) return { ok: false, message: 'Unauthorized' };
    if (!activeOnSite(user)) return { ok: false, message: 'Unauthorized' };
    // Classic tokens call the site URL; scoped tokens must call the gateway path (§8.5).
    if ((user.apiTokenScopes === null) !== (input.via === 'site')) return { ok: false, message: 'Unauthorized' };
    return { ok: true, principal: { kind: 'basic', user, scopes: user.apiTokenScopes } };
  }
  return { ok: false, message: 'Unauthorized' };
}

export function principalApp(p: Principal): string | null {
  if (p.kind === 'forge') return p.installation.appId;
  return p.kind === 'connect' || p.kind === 'impersonation' ? p.install.appKey : p.kind === '3lo' ? p.clientId : null;
}

import { randomBytes } from 'node:crypto';
import type { SandboxDeps } from '../sandbox-deps.js';
import type { ForgeInstallation, ForgeToken, ForgeTokenKind } from './forge-types.js';
import { TOKEN_SCOPES } from './forge-manifest.js';

/**
 * App system, app user and offline user tokens (§10.5, §10.6). Atlassian's are JWTs whose contents are not an
 * API, so the sandbox's are JWT-shaped (three base64url parts, an `exp`) and every check is a lookup in the
 * sandbox's own table: revoking or expiring one is a map change, and nothing outside can mint one.
 */

const HOUR = 3600_000;
/** Atlassian's maximum token lifetime (CHANGE-2160). */
export const MAX_TOKEN_MS = 4 * HOUR;
/** A delivered token keeps at least this long (§10.2: "guaranteed valid for ≥ 2 hours" on direct triggers). */
export const MIN_DELIVERED_MS = 2 * HOUR;

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export function mintForgeToken(
  deps: SandboxDeps,
  input: { kind: ForgeTokenKind; installation: ForgeInstallation; accountId: string; scopes: string[]; ttlMs: number },
): ForgeToken {
  const now = deps.clock.now();
  for (const [k, t] of deps.state.forgeTokens) if (t.expiresAt <= now) deps.state.forgeTokens.delete(k);
  const expiresAt = now + Math.min(input.ttlMs, MAX_TOKEN_MS);
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({
    iss: 'onbehalf-sandbox/forge',
    sub: input.accountId,
    aud: 'api.atlassian.com',
    typ: input.kind,
    iat: Math.floor(now / 1000),
    exp: Math.floor(expiresAt / 1000),
    jti: randomBytes(12).toString('hex'),
  });
  // The signature part only gives the token its shape: acceptance is a lookup, so it need not verify.
  const sig = randomBytes(32).toString('base64url');
  const token: ForgeToken = { token: `${head}.${body}.${sig}`, kind: input.kind, installationId: input.installation.installationId, accountId: input.accountId, scopes: input.scopes, expiresAt };
  deps.state.forgeTokens.set(token.token, token);
  return token;
}

/** The product scopes of the running version (the token-switch scopes grant no API access). */
export function productScopes(installation: ForgeInstallation): string[] {
  return installation.current.manifest.scopes.map((s) => s.name).filter((s) => !TOKEN_SCOPES.includes(s));
}

/** The system token Forge would attach now: the current one while it has 2 h left, else a fresh 4 h one. */
export function systemTokenFor(deps: SandboxDeps, installation: ForgeInstallation): ForgeToken {
  const now = deps.clock.now();
  const current = installation.systemToken ? deps.state.forgeTokens.get(installation.systemToken.token) : undefined;
  if (current && current.expiresAt - now >= MIN_DELIVERED_MS) return current;
  const fresh = mintForgeToken(deps, { kind: 'system', installation, accountId: installation.appUserAccountId, scopes: productScopes(installation), ttlMs: MAX_TOKEN_MS });
  installation.systemToken = { token: fresh.token, expiresAt: fresh.expiresAt };
  return fresh;
}

/** The user token for a user in session, reused while it has 2 h left (Forge caches and rotates them). */
export function userTokenFor(deps: SandboxDeps, installation: ForgeInstallation, accountId: string): ForgeToken {
  const now = deps.clock.now();
  for (const t of deps.state.forgeTokens.values()) {
    if (t.kind === 'user' && t.installationId === installation.installationId && t.accountId === accountId && t.expiresAt - now >= MIN_DELIVERED_MS) return t;
  }
  return mintForgeToken(deps, { kind: 'user', installation, accountId, scopes: productScopes(installation), ttlMs: MAX_TOKEN_MS });
}

/** Ends every token of an installation (uninstall): Atlassian stops accepting them. */
export function revokeInstallationTokens(deps: SandboxDeps, installationId: string): void {
  for (const [k, t] of deps.state.forgeTokens) if (t.installationId === installationId) deps.state.forgeTokens.delete(k);
}

import { createRemoteJWKSet, customFetch, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { checkLeewaySeconds } from './jwt-time.js';
import type { FetchLike } from './send-request.js';

/**
 * The Forge Invocation Token (FIT) every remote invocation carries (protocol doc part 2, §10.3-§10.4): an
 * RS256 JWT from Forge's JWKS, `iss` `forge/invocation-token`, `aud` the app ARI, `exp` 25 s after `iat`.
 *
 * Keys come from `jose`'s remote key set: cached, fetched again (at most every 30 s) when a token names an
 * unknown `kid`, which is how a key rotation reaches us. An `icLabel` (Isolated Cloud) is checked against
 * Atlassian's pattern **before** it goes into a JWKS URL, and only a configured template may use it.
 * Every verification failure is one error, FORGE_TOKEN_INVALID, with a reason in `details`; a JWKS that
 * cannot be fetched is ATLASSIAN_UNAVAILABLE (retryable: not the caller's fault).
 */

export const FORGE_JWKS_URL = 'https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json';
export const FIT_ISSUER = 'forge/invocation-token';
const IC_LABEL = /^[a-z0-9_-]{1,50}$/;
const APP_ARI = /^ari:cloud:ecosystem::app\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ForgeInvocationContext {
  cloudId: string | null;
  siteUrl: string | null;
  moduleKey: string | null;
  localId: string | null;
  extension: Record<string, unknown> | null;
}

/** What a verified FIT says, in our own names. UI calls carry `principal` and `context`; triggers do not. */
export interface ForgeInvocation {
  appId: string;
  appVersion: string | null;
  installationId: string;
  apiBaseUrl: string;
  cloudId: string;
  environment: { type: string; id: string };
  module: { type: string; key: string };
  principal: string | null;
  context: ForgeInvocationContext | null;
  jti: string;
  expiresAt: number;
}

export interface ForgeTokenVerifierOptions {
  /** The app ARI (`ari:cloud:ecosystem::app/<uuid>`) or its bare UUID; the FIT's `aud` must equal the ARI. */
  appId: string;
  /** Default: Atlassian's production JWKS. */
  jwksUrl?: string | undefined;
  /** A URL with `{icLabel}` for Isolated Cloud keys; without it a FIT with `icLabel` is refused. */
  isolatedCloudJwksUrlTemplate?: string | undefined;
  fetch: FetchLike;
  clock: Clock;
  /** 0-30 s for `exp`/`nbf`; default 5 (a FIT lives 25 s, so more would double its life). */
  leewaySeconds?: number | undefined;
  /**
   * After a key-set fetch, unknown kids wait this long before the next one (default 30 s), so FITs with made-up
   * kids cannot make us hammer Atlassian's CDN. A rotation lands at most this late; Forge retries events anyway.
   */
  refetchCooldownMs?: number | undefined;
}

export interface ForgeTokenVerifier {
  verify(authorization: string | undefined | null): Promise<ForgeInvocation>;
}

function invalid(reason: string, message: string, cause?: unknown): GatewayError {
  return new GatewayError('FORGE_TOKEN_INVALID', message, { details: { reason }, cause });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export function normaliseAppId(appId: string): string {
  const ari = UUID.test(appId) ? `ari:cloud:ecosystem::app/${appId}` : appId;
  if (!APP_ARI.test(ari)) throw new TypeError(`Forge app id must be "ari:cloud:ecosystem::app/<uuid>" or the UUID, got "${appId}"`);
  return ari;
}

function checkUrl(url: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw new TypeError(`createForgeTokenVerifier: ${what} is not a URL: ${url}`, { cause: e });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new TypeError(`createForgeTokenVerifier: ${what} must be an http(s) URL`);
  return u;
}

export function createForgeTokenVerifier(options: ForgeTokenVerifierOptions): ForgeTokenVerifier {
  const audience = normaliseAppId(options.appId);
  const leeway = checkLeewaySeconds(options.leewaySeconds ?? 5, 'createForgeTokenVerifier');
  const template = options.isolatedCloudJwksUrlTemplate;
  if (template !== undefined && !template.includes('{icLabel}')) throw new TypeError('createForgeTokenVerifier: isolatedCloudJwksUrlTemplate must contain {icLabel}');
  // Checked here, not at the first Isolated Cloud FIT: a bad template is a start-up error, not a 500 later.
  if (template !== undefined) checkUrl(template.replace('{icLabel}', 'label'), 'isolatedCloudJwksUrlTemplate');
  const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const keySet = (url: string) => {
    let ks = keySets.get(url);
    if (!ks) {
      // Every URL that gets here is jwksUrl or the template, both checked at creation.
      ks = createRemoteJWKSet(new URL(url), { [customFetch]: (u: string, init: RequestInit) => options.fetch(u, init), timeoutDuration: 5000, cooldownDuration: options.refetchCooldownMs ?? 30_000 });
      keySets.set(url, ks);
    }
    return ks;
  };
  const defaultUrl = options.jwksUrl ?? FORGE_JWKS_URL;
  checkUrl(defaultUrl, 'jwksUrl');

  return {
    async verify(authorization) {
      const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization ?? '');
      if (!m) throw invalid('missing', 'The request carries no Forge Invocation Token (Authorization: Bearer <FIT>).');
      const token = m[1]!;
      let header: ReturnType<typeof decodeProtectedHeader>;
      let unverified: JWTPayload;
      try {
        header = decodeProtectedHeader(token);
        unverified = decodeJwt(token);
      } catch (e) {
        throw invalid('malformed', 'The Forge Invocation Token is not a JWT.', e);
      }
      // Decided before any key is looked up: no `none`, no HMAC with a public key as secret.
      if (header.alg !== 'RS256') throw invalid('algorithm', `The Forge Invocation Token must be RS256, not ${String(header.alg)}.`);
      let url = defaultUrl;
      if (unverified['icLabel'] !== undefined) {
        const label = unverified['icLabel'];
        if (typeof label !== 'string' || !IC_LABEL.test(label)) throw invalid('ic_label', 'The Forge Invocation Token has an invalid icLabel.');
        if (template === undefined) throw invalid('ic_label', 'The Forge Invocation Token is for an Isolated Cloud this gateway has no key set for.');
        url = template.replace('{icLabel}', label);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keySet(url), {
          algorithms: ['RS256'],
          issuer: FIT_ISSUER,
          audience,
          clockTolerance: leeway,
          currentDate: new Date(options.clock.now()),
          requiredClaims: ['exp', 'iat', 'jti'],
        }));
      } catch (e) {
        throw joseFailure(e);
      }
      return invocationOf(payload, audience);
    },
  };
}

function joseFailure(e: unknown): GatewayError {
  if (e instanceof joseErrors.JWTExpired) return invalid('expired', 'The Forge Invocation Token has expired.', e);
  if (e instanceof joseErrors.JWTClaimValidationFailed) return invalid(`claim_${e.claim}`, `The Forge Invocation Token's "${e.claim}" claim is not acceptable.`, e);
  if (e instanceof joseErrors.JWKSNoMatchingKey) return invalid('unknown_key', 'The Forge Invocation Token is signed with a key Forge does not publish.', e);
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return invalid('signature', 'The Forge Invocation Token signature does not verify.', e);
  // JOSENotSupported: a `crit` extension jose does not know. The token's fault, so not "Atlassian unavailable".
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid || e instanceof joseErrors.JOSEAlgNotAllowed || e instanceof joseErrors.JOSENotSupported) {
    return invalid('malformed', 'The Forge Invocation Token is not valid.', e);
  }
  // What is left is the key set itself: unreachable, timed out, not 200, not a JWKS. Not the caller's fault.
  return new GatewayError('ATLASSIAN_UNAVAILABLE', 'The Forge key set could not be fetched.', { details: { reason: 'jwks_unavailable', retryable: true }, cause: e });
}

/** The claims of §10.4 into ForgeInvocation; a FIT without them is refused like a bad signature. */
function invocationOf(p: JWTPayload, appId: string): ForgeInvocation {
  const app = p['app'];
  if (!isRecord(app)) throw invalid('claims', 'The Forge Invocation Token has no app claim.');
  const installationId = str(app['installationId']) ?? (isRecord(app['installation']) ? str(app['installation']['id']) : null);
  const apiBaseUrl = str(app['apiBaseUrl']);
  if (!installationId || !installationId.startsWith('ari:cloud:ecosystem::installation/') || !apiBaseUrl) {
    throw invalid('claims', 'The Forge Invocation Token lacks app.installationId or app.apiBaseUrl.');
  }
  if (str(app['id']) !== appId) throw invalid('claim_app', 'The Forge Invocation Token is for another app.');
  const contexts = isRecord(app['installation']) && Array.isArray(app['installation']['contexts']) ? (app['installation']['contexts'] as unknown[]) : [];
  const confluence = contexts.find((c) => isRecord(c) && c['name'] === 'confluence') as Record<string, unknown> | undefined;
  // The cloudId never changes across reinstalls (§10.4); the installation context names it, else apiBaseUrl does.
  const cloudId = str(confluence?.['cloudId']) ?? /\/ex\/confluence\/([0-9a-f-]{36})\/?$/.exec(apiBaseUrl)?.[1] ?? null;
  if (!cloudId) throw invalid('claims', 'The Forge Invocation Token names no Confluence site (cloudId).');
  const env = isRecord(app['environment']) ? app['environment'] : {};
  const mod = isRecord(app['module']) ? app['module'] : {};
  const ctx = isRecord(p['context']) ? p['context'] : null;
  return {
    appId,
    appVersion: str(app['appVersion']) ?? str(app['version']),
    installationId,
    apiBaseUrl: apiBaseUrl.replace(/\/+$/, ''),
    cloudId,
    environment: { type: str(env['type']) ?? 'UNKNOWN', id: str(env['id']) ?? '' },
    module: { type: str(mod['type']) ?? '', key: str(mod['key']) ?? '' },
    principal: str(p['principal']),
    context: ctx
      ? { cloudId: str(ctx['cloudId']), siteUrl: str(ctx['siteUrl']), moduleKey: str(ctx['moduleKey']), localId: str(ctx['localId']), extension: isRecord(ctx['extension']) ? ctx['extension'] : null }
      : null,
    jti: String(p.jti),
    expiresAt: (p.exp ?? 0) * 1000,
  };
}

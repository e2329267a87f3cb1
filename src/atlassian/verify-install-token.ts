import { compactVerify, decodeProtectedHeader, errors as joseErrors } from 'jose';
import { unixSeconds, type Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { queryStringHash } from './canonical-request.js';
import { isValidKid, type InstallKeyResolver } from './install-key-resolver.js';
import { checkLeewaySeconds, checkTimeClaims } from './jwt-time.js';

export type LifecyclePath = '/installed' | '/uninstalled';

export interface VerifyInstallTokenOptions {
  /** `clientKey` from the lifecycle payload body; `iss` must equal it. */
  clientKey: string;
  /** The app's descriptor `baseUrl`; `aud[0]` must equal it (trailing `/` ignored on both sides). */
  appBaseUrl: string;
  resolver: InstallKeyResolver;
  clock: Clock;
  /** 0–30 s; default 0. */
  leewaySeconds?: number | undefined;
  expectedPath: LifecyclePath;
  signal?: AbortSignal | undefined;
}

export interface VerifiedInstallToken {
  clientKey: string;
  kid: string;
  /** `context.user.accountId`, else `sub`; the installing user when Atlassian says so. */
  accountId: string | undefined;
  expiresAt: number;
  issuedAt: number | undefined;
}

function bad(reason: string, message: string, cause?: unknown): GatewayError {
  return new GatewayError('INSTALL_SIGNATURE_INVALID', message, { details: { reason }, cause });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stripTrailingSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * Verifies the RS256 JWT of a signed-install lifecycle callback (doc §2.5): RS256 only with a valid `kid`,
 * key from the resolver, `iss` = body clientKey, `aud[0]` = app baseUrl, qsh = hash of
 * `POST&/installed&` (or `/uninstalled`), `exp` required. Failures are INSTALL_SIGNATURE_INVALID, except
 * an expired token (JWT_EXPIRED) and a key server that cannot be reached (ATLASSIAN_UNAVAILABLE).
 */
export async function verifyInstallToken(token: string, options: VerifyInstallTokenOptions): Promise<VerifiedInstallToken> {
  const leeway = checkLeewaySeconds(options.leewaySeconds, 'verifyInstallToken');
  if (options.expectedPath !== '/installed' && options.expectedPath !== '/uninstalled') {
    throw new RangeError(`verifyInstallToken: expectedPath must be /installed or /uninstalled, got ${String(options.expectedPath)}`);
  }
  if (typeof token !== 'string' || token === '') throw bad('missing', 'The lifecycle request carries no JWT.');

  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch (e) {
    throw bad('malformed', 'The install token is not a well-formed JWS.', e);
  }
  if (header.alg !== 'RS256') throw bad('alg_not_allowed', 'The install token must be signed with RS256.');
  if (!isValidKid(header.kid)) throw bad('bad_kid', 'The install token has no valid key id (kid).');
  const kid = header.kid;

  const key = await options.resolver.getKey(kid, options.signal === undefined ? {} : { signal: options.signal });

  let payloadBytes: Uint8Array;
  try {
    ({ payload: payloadBytes } = await compactVerify(token, key, { algorithms: ['RS256'] }));
  } catch (e) {
    if (e instanceof joseErrors.JWSSignatureVerificationFailed) throw bad('bad_signature', 'The install token signature is not valid.', e);
    throw bad('malformed', 'The install token could not be verified.', e);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payloadBytes));
  } catch (e) {
    throw bad('malformed', 'The install token payload is not JSON.', e);
  }
  if (!isRecord(payload)) throw bad('malformed', 'The install token payload is not a JSON object.');

  if (typeof payload.iss !== 'string' || payload.iss === '' || payload.iss !== options.clientKey) {
    throw bad('iss_mismatch', 'The install token issuer does not match the clientKey of the payload.');
  }
  const aud = payload.aud;
  const firstAud = typeof aud === 'string' ? aud : Array.isArray(aud) ? (aud[0] as unknown) : undefined;
  if (typeof firstAud !== 'string' || stripTrailingSlashes(firstAud) !== stripTrailingSlashes(options.appBaseUrl)) {
    throw bad('aud_mismatch', 'The install token audience is not this app\'s baseUrl.');
  }
  const exp = payload.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw bad('missing_exp', 'The install token has no expiry (exp).');
  const nbf = payload.nbf;
  if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf))) throw bad('bad_nbf', 'The install token nbf is not a number.');
  const iat = payload.iat;
  const expectedQsh = queryStringHash({ method: 'POST', pathname: options.expectedPath });
  if (payload.qsh !== expectedQsh) {
    throw bad('qsh_mismatch', `The install token qsh is not the hash of POST&${options.expectedPath}&.`);
  }
  switch (checkTimeClaims(unixSeconds(options.clock), exp, nbf, leeway)) {
    case 'expired':
      throw new GatewayError('JWT_EXPIRED', 'The install token has expired.', { details: { expiredAt: exp } });
    case 'not_yet_valid':
      throw bad('not_yet_valid', 'The install token is not valid yet (nbf).');
    case 'ok':
      break;
  }

  const context = payload.context;
  const user = isRecord(context) && isRecord(context.user) ? context.user : undefined;
  const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
  const accountId = typeof user?.accountId === 'string' && user.accountId !== '' ? user.accountId : sub;
  return {
    clientKey: payload.iss,
    kid,
    accountId,
    expiresAt: exp * 1000,
    issuedAt: typeof iat === 'number' && Number.isFinite(iat) ? iat * 1000 : undefined,
  };
}

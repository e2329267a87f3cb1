import { unixSeconds, type Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { queryStringHash, splitRawUrl, type QueryInput, parseQueryString } from './canonical-request.js';
import { decodeCompactJwt, verifyHs256Signature } from './compact-jwt.js';
import { checkLeewaySeconds, checkTimeClaims } from './jwt-time.js';

/** The literal qsh of context JWTs (`AP.context.getToken()`), doc §1.5. */
export const CONTEXT_QSH = 'context-qsh';

/** The request the token arrived with, as raw as possible. */
export type ConnectJwtRequest =
  | {
      method: string;
      /** Raw request target: `/path?query` or an absolute URL. */
      url: string;
      /** Form-encoded body parameters (POST/PUT), raw string or decoded entries. */
      formBody?: QueryInput | undefined;
    }
  | {
      method: string;
      /** Raw path as on the wire. */
      pathname: string;
      query?: QueryInput | undefined;
      formBody?: QueryInput | undefined;
    };

export interface VerifyConnectJwtOptions {
  /** The tenant's shared secret, or undefined when the clientKey is unknown. */
  getSharedSecret(clientKey: string): string | undefined | Promise<string | undefined>;
  /** The request the token came with; required unless `allowContextQsh` (context tokens carry no request hash). */
  request?: ConnectJwtRequest | undefined;
  /** The path of the app's descriptor `baseUrl` (stripped before hashing). */
  contextPath?: string | undefined;
  clock: Clock;
  /** 0–30 s; default 0 (ACE allows none). */
  leewaySeconds?: number | undefined;
  /**
   * True only on routes that take context JWTs: then the qsh must be the literal `"context-qsh"` and a
   * real qsh is refused (G4J). False everywhere else: then `"context-qsh"` is refused.
   */
  allowContextQsh: boolean;
}

export interface VerifiedConnectJwt {
  /** `aud[0]` when aud is non-empty, else `iss`. */
  clientKey: string;
  issuer: string;
  /** `context.user.accountId`, else `sub` (ACE's order); undefined for anonymous requests. */
  accountId: string | undefined;
  isContextToken: boolean;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  issuedAt: number | undefined;
  /** The `jti` claim when the product sent one (a unique id per token): what replay protection keys on. */
  jwtId: string | undefined;
  context: Readonly<Record<string, unknown>> | undefined;
}

function invalid(reason: string, message: string, cause?: unknown): GatewayError {
  return new GatewayError('JWT_INVALID', message, { details: { reason }, cause });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalNumber(payload: Record<string, unknown>, claim: string): number | undefined {
  const v = payload[claim];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`bad_${claim}`, `The JWT claim "${claim}" is not a number.`);
  return v;
}

function clientKeyFrom(iss: string, aud: unknown): string {
  if (aud === undefined) return iss;
  // A string aud is treated as a one-element array (ACE would take its first *character*).
  const list = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(list) || !list.every((a): a is string => typeof a === 'string')) {
    throw invalid('bad_aud', 'The JWT claim "aud" is neither a string nor an array of strings.');
  }
  const first = list[0];
  if (first === undefined || first === '') return iss;
  return first;
}

function requestParts(request: ConnectJwtRequest): { method: string; pathname: string; query: QueryInput } {
  if ('url' in request) {
    const { pathname, query } = splitRawUrl(request.url);
    return { method: request.method, pathname, query };
  }
  return { method: request.method, pathname: request.pathname, query: request.query ?? '' };
}

function hasParams(query: QueryInput): boolean {
  const entries = typeof query === 'string' ? parseQueryString(query) : query;
  return entries.some(([k]) => k !== 'jwt');
}

/**
 * Verifies a product→app Connect JWT (HS256 with the tenant's shared secret). Order of checks, each with its
 * own code: shape → `alg` (HS256 only, before any key lookup) → `iss`/`exp`/`qsh` present → tenant
 * (`TENANT_UNKNOWN`) → signature (`JWT_INVALID`) → time (`JWT_EXPIRED`) → qsh (`QSH_MISMATCH`).
 */
export async function verifyConnectJwt(token: string, options: VerifyConnectJwtOptions): Promise<VerifiedConnectJwt> {
  const leeway = checkLeewaySeconds(options.leewaySeconds, 'verifyConnectJwt');
  if (typeof token !== 'string' || token === '') throw invalid('missing', 'No JWT was given.');
  const decoded = decodeCompactJwt(token);
  if (decoded === undefined) throw invalid('malformed', 'The JWT is not a well-formed compact JWS.');
  const { header, payload } = decoded;

  // HS256 only. Anything else (none, HS384/512, RS*/ES*/PS*, a missing alg) is refused before the key is
  // looked up, so a public value can never be used as an HMAC key.
  if (header.alg !== 'HS256') {
    throw invalid('alg_not_allowed', 'The JWT must be signed with HS256.');
  }
  if (header.crit !== undefined) throw invalid('crit_not_supported', 'The JWT header has a "crit" parameter.');

  const iss = payload.iss;
  if (typeof iss !== 'string' || iss === '') throw invalid('missing_iss', 'The JWT has no issuer (iss) claim.');
  const exp = optionalNumber(payload, 'exp');
  if (exp === undefined) throw invalid('missing_exp', 'The JWT has no expiry (exp) claim.');
  const iat = optionalNumber(payload, 'iat');
  const nbf = optionalNumber(payload, 'nbf');
  const qsh = payload.qsh;
  if (typeof qsh !== 'string' || qsh === '') throw invalid('missing_qsh', 'The JWT has no query-string hash (qsh) claim.');
  const sub = payload.sub;
  if (sub !== undefined && typeof sub !== 'string') throw invalid('bad_sub', 'The JWT claim "sub" is not a string.');
  const context = payload.context;
  if (context !== undefined && !isRecord(context)) throw invalid('bad_context', 'The JWT claim "context" is not an object.');

  const clientKey = clientKeyFrom(iss, payload.aud);
  const secret = await options.getSharedSecret(clientKey);
  if (secret === undefined || secret === '') {
    throw new GatewayError('TENANT_UNKNOWN', 'No installation is known for the JWT client key.', {
      details: { clientKey: clientKey.slice(0, 200) },
    });
  }
  if (!verifyHs256Signature(decoded, secret)) throw invalid('bad_signature', 'The JWT signature is not valid.');

  switch (checkTimeClaims(unixSeconds(options.clock), exp, nbf, leeway)) {
    case 'expired':
      throw new GatewayError('JWT_EXPIRED', 'The JWT has expired.', { details: { expiredAt: exp } });
    case 'not_yet_valid':
      throw invalid('not_yet_valid', 'The JWT is not valid yet (nbf).');
    case 'ok':
      break;
  }

  const isContextToken = qsh === CONTEXT_QSH;
  if (options.allowContextQsh) {
    if (!isContextToken) {
      throw new GatewayError('QSH_MISMATCH', 'This endpoint takes context JWTs only (qsh "context-qsh").', {
        details: { reason: 'context_qsh_required' },
      });
    }
  } else if (isContextToken) {
    throw new GatewayError('QSH_MISMATCH', 'A context JWT (qsh "context-qsh") is not accepted here.', {
      details: { reason: 'context_qsh_not_allowed' },
    });
  } else {
    if (options.request === undefined) throw new TypeError('verifyConnectJwt: request is required to check a qsh');
    const { method, pathname, query } = requestParts(options.request);
    const contextPath = options.contextPath;
    let matches = queryStringHash({ method, pathname, query, contextPath }) === qsh;
    // Like ACE/atlassian-jwt: some clients move the query of a POST/PUT into a form body; accept the body
    // fields as the query, but only when the URL itself carries no parameters.
    const upper = method.toUpperCase();
    const formBody = options.request.formBody;
    if (!matches && formBody !== undefined && (upper === 'POST' || upper === 'PUT') && !hasParams(query)) {
      matches = queryStringHash({ method, pathname, query: formBody, contextPath }) === qsh;
    }
    if (!matches) {
      throw new GatewayError('QSH_MISMATCH', 'The JWT query-string hash does not match the request.', {
        details: { reason: 'qsh_mismatch' },
      });
    }
  }

  const user = isRecord(context) && isRecord(context.user) ? context.user : undefined;
  const contextAccountId = typeof user?.accountId === 'string' && user.accountId !== '' ? user.accountId : undefined;
  const accountId = contextAccountId ?? (sub === undefined || sub === '' ? undefined : sub);
  return {
    clientKey,
    issuer: iss,
    accountId,
    isContextToken,
    expiresAt: exp * 1000,
    issuedAt: iat === undefined ? undefined : iat * 1000,
    jwtId: typeof payload['jti'] === 'string' && payload['jti'] !== '' ? payload['jti'] : undefined,
    context: isRecord(context) ? context : undefined,
  };
}

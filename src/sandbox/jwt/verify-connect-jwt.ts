import { computeQsh } from './canonical-request.js';
import { decodeJwt, isHmacAlg, verifyHmacSignature, type DecodedJwt } from './hs256.js';

export type QshMode = 'required' | 'context' | 'skip';

export interface VerifyConnectJwtInput {
  token: string;
  /** Returns the shared secret for the issuer/clientKey found in the claims, or null when unknown. */
  secretFor: (claims: { iss: string; clientKey: string }) => string | null;
  method: string;
  url: string;
  contextPath?: string;
  bodyParams?: Map<string, string[]>;
  /** Unix seconds; `null` skips the `exp` check (conformance vectors are from 2016). */
  nowSeconds: number | null;
  leewaySeconds?: number;
  /** `required`: qsh must match the request; `context`: qsh must be the literal `context-qsh`. */
  qsh?: QshMode;
}

export type VerifyConnectJwtFailure =
  | 'MALFORMED'
  | 'BAD_ALG'
  | 'NO_ISS'
  | 'UNKNOWN_ISSUER'
  | 'BAD_SIGNATURE'
  | 'EXPIRED'
  | 'NO_QSH'
  | 'QSH_MISMATCH'
  | 'CONTEXT_QSH_NOT_ALLOWED';

export type VerifyConnectJwtResult =
  | { ok: true; claims: Record<string, unknown>; clientKey: string; iss: string; expectedQsh: string }
  | { ok: false; reason: VerifyConnectJwtFailure; message: string };

/**
 * Verifies a Connect HS256 JWT the way the protocol doc describes (§1.2, Appendix A.3): `iss` required,
 * clientKey = `aud[0]` when present else `iss`, HMAC with the shared secret, `exp` with leeway, then qsh.
 */
export function verifyConnectJwt(input: VerifyConnectJwtInput): VerifyConnectJwtResult {
  const decoded: DecodedJwt | null = decodeJwt(input.token);
  if (!decoded) return { ok: false, reason: 'MALFORMED', message: 'JWT is not a compact JWS' };
  if (!isHmacAlg(decoded.header['alg'])) return { ok: false, reason: 'BAD_ALG', message: 'JWT alg must be HS256, HS384 or HS512' };
  const claims = decoded.payload;
  const iss = claims['iss'];
  if (typeof iss !== 'string' || iss === '') return { ok: false, reason: 'NO_ISS', message: 'JWT claim did not contain the issuer (iss) claim' };
  const aud = claims['aud'];
  const aud0 = Array.isArray(aud) ? aud[0] : typeof aud === 'string' ? aud : undefined;
  const clientKey = typeof aud0 === 'string' && aud0 !== '' ? aud0 : iss;
  const secret = input.secretFor({ iss, clientKey });
  if (secret === null) return { ok: false, reason: 'UNKNOWN_ISSUER', message: 'Could not find stored client data for this issuer' };
  if (!verifyHmacSignature(decoded, secret)) return { ok: false, reason: 'BAD_SIGNATURE', message: 'JWT signature verification failed' };
  if (input.nowSeconds !== null) {
    const exp = claims['exp'];
    if (typeof exp !== 'number' || input.nowSeconds >= exp + (input.leewaySeconds ?? 0)) {
      return { ok: false, reason: 'EXPIRED', message: 'Authentication request has expired' };
    }
  }
  const expectedQsh = computeQsh({
    method: input.method,
    url: input.url,
    ...(input.contextPath !== undefined ? { contextPath: input.contextPath } : {}),
    ...(input.bodyParams !== undefined ? { bodyParams: input.bodyParams } : {}),
  });
  const mode = input.qsh ?? 'required';
  const qsh = claims['qsh'];
  if (mode === 'required') {
    if (typeof qsh !== 'string') return { ok: false, reason: 'NO_QSH', message: 'JWT claim did not contain the query string hash (qsh) claim' };
    if (qsh === 'context-qsh') return { ok: false, reason: 'CONTEXT_QSH_NOT_ALLOWED', message: 'Context JWTs are not accepted here' };
    if (qsh !== expectedQsh) return { ok: false, reason: 'QSH_MISMATCH', message: 'Authentication failed: query hash does not match.' };
  } else if (mode === 'context' && qsh !== 'context-qsh') {
    return { ok: false, reason: 'QSH_MISMATCH', message: 'A context JWT (qsh "context-qsh") is required here' };
  }
  return { ok: true, claims, clientKey, iss, expectedQsh };
}

import { createHmac, timingSafeEqual } from 'node:crypto';

/** Compact-JWS helpers for the HMAC algorithms Connect uses. RS256 signing lives in `rs256.ts` (jose). */

export type HmacAlg = 'HS256' | 'HS384' | 'HS512';
const HASH: Record<HmacAlg, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

export function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

/** Decodes without verifying. Returns null for anything that is not a three-part JWS with JSON objects. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [h, p, s] = parts as [string, string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(h) || !/^[A-Za-z0-9_-]+$/.test(p) || !/^[A-Za-z0-9_-]*$/.test(s)) return null;
  try {
    const header: unknown = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    const payload: unknown = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (!isRecord(header) || !isRecord(payload)) return null;
    return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
  } catch {
    return null;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isHmacAlg(alg: unknown): alg is HmacAlg {
  return alg === 'HS256' || alg === 'HS384' || alg === 'HS512';
}

/** True when the token's header names an HMAC algorithm and the signature matches `secret`. */
export function verifyHmacSignature(decoded: DecodedJwt, secret: string): boolean {
  const alg = decoded.header['alg'];
  if (!isHmacAlg(alg)) return false;
  const expected = createHmac(HASH[alg], secret).update(decoded.signingInput).digest();
  return expected.length === decoded.signature.length && timingSafeEqual(expected, decoded.signature);
}

export function signHmacJwt(payload: Record<string, unknown>, secret: string, alg: HmacAlg = 'HS256'): string {
  const signingInput = `${base64url(JSON.stringify({ typ: 'JWT', alg }))}.${base64url(JSON.stringify(payload))}`;
  const sig = createHmac(HASH[alg], secret).update(signingInput).digest();
  return `${signingInput}.${base64url(sig)}`;
}

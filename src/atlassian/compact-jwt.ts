import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Minimal compact-JWS helpers for HS256 Connect tokens.
 *
 * Why node:crypto and not `jose` here: HS256 is one HMAC call, and doing it ourselves gives us
 *  - byte-exact output with Atlassian's header order `{"typ":"JWT","alg":"HS256"}` and our claim order
 *    (the §3.2 and B.3 worked examples must reproduce byte for byte);
 *  - an explicit `alg` check that runs *before* any key lookup, with no algorithm negotiation at all
 *    (nothing here can be talked into `none`, RS*, or using a secret as a public key);
 *  - strict, canonical base64url (Node's decoder silently skips junk characters, so we check the charset
 *    and compare the *encoded* expected signature in constant time);
 *  - our own claim rules (exp required, bounded leeway, context-qsh) without a second layer of claim checks
 *    whose error types we would have to translate.
 * RS256 (signed installs) uses `jose`, where PEM parsing and RSA verification earn a library.
 */

export const HS256_HEADER = '{"typ":"JWT","alg":"HS256"}';

const B64URL = /^[A-Za-z0-9_-]*$/;

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** `header.payload` as it appeared, the input of the signature. */
  signingInput: string;
  signature: string;
}

export function base64UrlEncode(data: string | Buffer): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

function parseJsonObject(segment: string): Record<string, unknown> | undefined {
  if (!B64URL.test(segment) || segment.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Splits and JSON-decodes a compact JWS without verifying it. `undefined` when it is not well formed. */
export function decodeCompactJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  if (!B64URL.test(s)) return undefined;
  const header = parseJsonObject(h);
  const payload = parseJsonObject(p);
  if (header === undefined || payload === undefined) return undefined;
  return { header, payload, signingInput: `${h}.${p}`, signature: s };
}

function hmacSha256(signingInput: string, secret: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(signingInput, 'ascii').digest('base64url');
}

/**
 * Signs an already-serialised payload (the caller controls claim order) with the Atlassian HS256 header.
 */
export function signHs256(payloadJson: string, secret: string): string {
  const signingInput = `${base64UrlEncode(HS256_HEADER)}.${base64UrlEncode(payloadJson)}`;
  return `${signingInput}.${hmacSha256(signingInput, secret)}`;
}

/** Constant-time check of an HS256 signature; the encoded form must be canonical. */
export function verifyHs256Signature(decoded: DecodedJwt, secret: string): boolean {
  const expected = Buffer.from(hmacSha256(decoded.signingInput, secret), 'ascii');
  const given = Buffer.from(decoded.signature, 'ascii');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

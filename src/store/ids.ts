import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** Row ids: random, so they leak no counts and can bind secret-box ciphertexts to their row. */
export function newId(): string {
  return randomUUID();
}

/** An unguessable bearer value (API keys, link-session tokens): 256 bits, base64url, with a readable prefix. */
export function newSecretToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/**
 * Hash for high-entropy bearer values. Plain SHA-256 is right here: the inputs are 256-bit random, so a
 * slow password hash would add latency to every API call without adding any resistance.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

import { createHmac, hkdfSync } from 'node:crypto';
import { GatewayError } from '../errors.js';
import type { Keyring } from './secret-box.js';

/**
 * Keyed hashes of email addresses, for the per-site user index of Forge sites: the index must answer
 * "which account has this email?" without the database ever holding an email. HMAC-SHA256 under a key
 * derived (HKDF) from each master key of the keyring, so it lives and rotates with the keys that seal every
 * other secret: nothing new to back up, and the same keys on every instance give the same hashes. The site's
 * cloud id is hashed in too, so one person's hashes on two sites cannot be matched with each other.
 *
 * Rotation: a hash cannot be re-computed without the email, so `keys rotate` cannot re-hash. Each index row
 * records the key id it was hashed under; a look-up hashes the email under every key of the keyring that
 * rows still use, so nothing stops resolving after a rotation, and the index refresh re-hashes each site
 * under the active key on its next pass. `keys retire` refuses a key that index rows still use.
 *
 * Format: base64url of the 32-byte MAC (43 characters).
 */
export interface EmailHasher {
  readonly activeKeyId: string;
  /** Every key id of the keyring (look-ups try those that index rows use). */
  readonly keyIds: readonly string[];
  hash(cloudId: string, email: string, keyId?: string): string;
}

/** Emails compare case-insensitively (Atlassian treats them so); surrounding spaces are never part of one. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const INFO = Buffer.from('onbehalf email index v1', 'utf8');
const SALT = Buffer.from('onbehalf/email-hash', 'utf8');

export function createEmailHasher(keyring: Keyring): EmailHasher {
  const keys = new Map<string, Buffer>();
  for (const [id, master] of keyring.keys) keys.set(id, Buffer.from(hkdfSync('sha256', master, SALT, INFO, 32)));
  if (!keys.has(keyring.activeKeyId)) throw new GatewayError('SECRET_KEY_MISSING', `The active master key "${keyring.activeKeyId}" is not in the keyring.`);
  return {
    activeKeyId: keyring.activeKeyId,
    keyIds: [...keys.keys()],
    hash(cloudId, email, keyId = keyring.activeKeyId) {
      const key = keys.get(keyId);
      if (!key) throw new GatewayError('SECRET_KEY_MISSING', `Email hashes were made with master key "${keyId}", which is not configured. Add that key back to the keyring (see docs/configuration.md).`, { details: { keyId } });
      return createHmac('sha256', key).update(`${cloudId}\n${normalizeEmail(email)}`, 'utf8').digest('base64url');
    },
  };
}

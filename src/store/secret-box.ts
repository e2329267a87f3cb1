import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GatewayError } from '../errors.js';

/**
 * Encryption at rest for every secret the store keeps: AES-256-GCM, a fresh 96-bit nonce per seal, and
 * the key id written beside each ciphertext so rotation can re-encrypt row by row and resume. The
 * `context` (table, column and row id) is bound as additional authenticated data: a ciphertext copied into
 * another row or column fails to open instead of quietly handing one tenant another tenant's secret.
 *
 * Format: `ob1.<keyId>.<nonce b64url>.<ciphertext+tag b64url>` (dots never occur in key ids or base64url).
 */
export interface Keyring {
  readonly activeKeyId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

export interface SecretBox {
  readonly activeKeyId: string;
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
  /** The key id a ciphertext was sealed under, without decrypting it. */
  keyIdOf(sealed: string): string;
}

const PREFIX = 'ob1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function createSecretBox(keyring: Keyring): SecretBox {
  const active = keyring.keys.get(keyring.activeKeyId);
  if (!active) throw new GatewayError('SECRET_KEY_MISSING', `The active master key "${keyring.activeKeyId}" is not in the keyring.`);
  for (const [id, key] of keyring.keys) {
    if (key.length !== 32) throw new GatewayError('SECRET_KEY_MISSING', `Master key "${id}" must be 32 bytes, got ${key.length}.`);
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new GatewayError('SECRET_KEY_MISSING', `Master key id "${id}" must be 1-32 letters, digits, _ or -.`);
  }

  return {
    activeKeyId: keyring.activeKeyId,
    seal(plaintext, context) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', active, nonce);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${PREFIX}.${keyring.activeKeyId}.${nonce.toString('base64url')}.${body.toString('base64url')}`;
    },
    open(sealed, context) {
      const { keyId, nonce, body } = parse(sealed);
      const key = keyring.keys.get(keyId);
      if (!key) {
        throw new GatewayError(
          'SECRET_KEY_MISSING',
          `A stored secret was sealed with master key "${keyId}", which is not configured. Add that key back to the keyring (see docs/configuration.md).`,
          { details: { keyId } },
        );
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce);
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new GatewayError('DECRYPT_FAILED', `A stored secret failed its integrity check (${context}); it was altered or belongs to another row.`, {
          cause,
          details: { context, keyId },
        });
      }
    },
    keyIdOf(sealed) {
      return parse(sealed).keyId;
    },
  };
}

function parse(sealed: string): { keyId: string; nonce: Buffer; body: Buffer } {
  const parts = sealed.split('.');
  const [prefix, keyId, nonceText, bodyText] = parts;
  if (parts.length !== 4 || prefix !== PREFIX || !keyId || !nonceText || !bodyText) {
    throw new GatewayError('DECRYPT_FAILED', 'A stored secret is not in secret-box format (was plaintext written to an encrypted column?).');
  }
  const nonce = Buffer.from(nonceText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) {
    throw new GatewayError('DECRYPT_FAILED', 'A stored secret is truncated.');
  }
  return { keyId, nonce, body };
}

export function isSealed(value: string): boolean {
  return value.startsWith(`${PREFIX}.`);
}

import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ADMIN_SECRET_MIN_LENGTH } from '../config.js';
import { GatewayError } from '../errors.js';

/**
 * The admin console secret `onbehalf up` keeps for sandbox mode: generated once (mode 0600, like the
 * keyring), then read back on every run so the secret stays the same across restarts.
 */
export function ensureAdminSecretFile(path: string): { secret: string; generated: boolean; looseBits: number } {
  try {
    const secret = readFileSync(path, 'utf8').trim();
    if (secret.length < ADMIN_SECRET_MIN_LENGTH || !/^[\x21-\x7e]+$/.test(secret)) {
      throw new GatewayError('CONFIG_INVALID', `The admin secret file ${path} does not hold a usable secret (at least ${ADMIN_SECRET_MIN_LENGTH} printable characters). Delete it to have a new one generated.`);
    }
    return { secret, generated: false, looseBits: statSync(path).mode & 0o077 };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  // 'wx': if another process just wrote one, this fails instead of replacing it.
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${secret}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, 0o600);
  return { secret, generated: true, looseBits: 0 };
}

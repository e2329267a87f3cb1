import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { KeysConfig } from '../config.js';
import { GatewayError } from '../errors.js';
import type { Keyring } from './secret-box.js';

/**
 * Where master keys come from: inline config, or a keyring file
 * `{ "version": 1, "active": "<id>", "keys": [{ "id", "key": base64, "createdAt" }] }` kept with mode 0600.
 * Old keys stay in the file after a rotation so half-rotated data stays readable; `keys retire` removes
 * one only when nothing uses it.
 */

const keyFileSchema = z.object({
  version: z.literal(1),
  active: z.string(),
  keys: z
    .array(z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/), key: z.string(), createdAt: z.string() }))
    .min(1),
});
export type KeyFile = z.infer<typeof keyFileSchema>;

export interface LoadedKeyring {
  readonly keyring: Keyring;
  /** Set when this call created the key file (first start in embedded mode). */
  readonly generatedFile?: string;
  /** The file the keys came from, when they came from a file. */
  readonly file?: string;
}

export function loadKeyring(config: KeysConfig, now: () => Date = () => new Date()): LoadedKeyring {
  if (config.source === 'env') {
    const first = config.keys[0];
    if (!first) throw new GatewayError('SECRET_KEY_MISSING', 'ONBEHALF_MASTER_KEYS holds no key.');
    return { keyring: { activeKeyId: first.id, keys: new Map(config.keys.map((k) => [k.id, k.key])) } };
  }
  let generated = false;
  if (!exists(config.path)) {
    if (!config.generateIfMissing) {
      throw new GatewayError(
        'SECRET_KEY_MISSING',
        `No master key: ${config.path} does not exist. With a shared database every instance needs the same keys: create the file once (onbehalf keys init --key-file ${config.path}) and give it to each instance, or set ONBEHALF_MASTER_KEYS.`,
      );
    }
    writeKeyFile(config.path, { version: 1, active: 'k1', keys: [newKey('k1', now())] }, { exclusive: true });
    generated = true;
  }
  const file = readKeyFile(config.path);
  return { keyring: keyringOf(file, config.path), file: config.path, ...(generated ? { generatedFile: config.path } : {}) };
}

export function readKeyFile(path: string): KeyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new GatewayError('SECRET_KEY_MISSING', `Cannot read the key file ${path}: ${(cause as Error).message}`, { cause });
  }
  let parsed: KeyFile;
  try {
    parsed = keyFileSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw new GatewayError('SECRET_KEY_MISSING', `The key file ${path} is not a valid onbehalf keyring (version, active, keys[]).`, { cause });
  }
  keyringOf(parsed, path);
  return parsed;
}

function keyringOf(file: KeyFile, path: string): Keyring {
  const keys = new Map<string, Buffer>();
  for (const k of file.keys) {
    const key = Buffer.from(k.key, 'base64');
    if (key.length !== 32) throw new GatewayError('SECRET_KEY_MISSING', `Key "${k.id}" in ${path} is not 32 bytes of base64.`);
    if (keys.has(k.id)) throw new GatewayError('SECRET_KEY_MISSING', `Key id "${k.id}" appears twice in ${path}.`);
    keys.set(k.id, key);
  }
  if (!keys.has(file.active)) throw new GatewayError('SECRET_KEY_MISSING', `The active key "${file.active}" is not among the keys in ${path}.`);
  return { activeKeyId: file.active, keys };
}

export function newKey(id: string, at: Date): KeyFile['keys'][number] {
  return { id, key: randomBytes(32).toString('base64'), createdAt: at.toISOString() };
}

/** The next free id of the form kN. */
export function nextKeyId(file: KeyFile): string {
  let n = file.keys.length + 1;
  while (file.keys.some((k) => k.id === `k${n}`)) n++;
  return `k${n}`;
}

/**
 * Writes the keyring durably: to a 0600 temporary file, fsynced, then renamed over the old one, so a crash
 * leaves either the old file or the new one, never a torn file that would lock the data away.
 */
export function writeKeyFile(path: string, file: KeyFile, options: { exclusive?: boolean } = {}): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const text = `${JSON.stringify(file, null, 2)}\n`;
  if (options.exclusive) {
    // First creation: 'wx' refuses to overwrite a key file another process just wrote.
    writeDurably(path, 'wx', text);
    return;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  writeDurably(tmp, 'w', text);
  renameSync(tmp, path);
}

function writeDurably(path: string, flag: 'w' | 'wx', text: string): void {
  const fd = openSync(path, flag, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // The mode given to open() is masked by the umask; make sure the key file is owner-only.
  chmodSync(path, 0o600);
}

/** Permission bits of the key file beyond owner read/write, for `doctor` and start-up warnings. */
export function keyFileLooseBits(path: string): number {
  return statSync(path).mode & 0o077;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

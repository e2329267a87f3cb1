import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
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
  if (!exists(config.path)) {
    if (!config.generateIfMissing) {
      throw new GatewayError(
        'SECRET_KEY_MISSING',
        `No master key: ${config.path} does not exist. With a shared database every instance needs the same keys: create the file once (onbehalf keys init --key-file ${config.path}) and give it to each instance, or set ONBEHALF_MASTER_KEYS.`,
      );
    }
    return generateKeyFile(config.path, now);
  }
  const file = readKeyFile(config.path);
  return { keyring: keyringOf(file, config.path), file: config.path };
}

/**
 * First start in embedded mode, once the key file was found missing: creates it with one new key, unless
 * another instance starting at the same moment created it first, in which case that instance's key is the
 * one to use (two keys would leave each instance unable to open what the other sealed).
 */
export function generateKeyFile(path: string, now: () => Date = () => new Date()): LoadedKeyring {
  if (createKeyFile(path, { version: 1, active: 'k1', keys: [newKey('k1', now())] })) {
    return { keyring: keyringOf(readKeyFile(path), path), file: path, generatedFile: path };
  }
  let file: KeyFile;
  try {
    file = readKeyFile(path);
  } catch (cause) {
    // Most likely a dangling link to a key file that should be mounted there: never replace it.
    throw new GatewayError('SECRET_KEY_MISSING', `The key file ${path} appeared while this process was creating it (another instance starting at the same moment, or a link to a missing file) and cannot be used: ${(cause as Error).message}`, { cause });
  }
  return { keyring: keyringOf(file, path), file: path };
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
export function writeKeyFile(path: string, file: KeyFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeDurably(tmp, keyFileText(file));
  renameSync(tmp, path);
}

/**
 * Creates the key file only if nothing is at `path` yet (not even a dangling link): true when this call
 * created it, false when something was already there, which is left untouched. The file is written whole
 * under a temporary name and then hard-linked into place, and link() refuses an existing name, so the
 * check and the creation are one step and a process that loses the race never reads a half-written file.
 */
export function createKeyFile(path: string, file: KeyFile): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.new`;
  writeDurably(tmp, keyFileText(file));
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new GatewayError('SECRET_KEY_MISSING', `Cannot create the key file ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    unlinkSync(tmp);
  }
}

const keyFileText = (file: KeyFile) => `${JSON.stringify(file, null, 2)}\n`;

function writeDurably(path: string, text: string): void {
  const fd = openSync(path, 'w', 0o600);
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

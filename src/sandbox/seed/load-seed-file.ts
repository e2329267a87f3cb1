import { readFileSync } from 'node:fs';
import { parseSeed, type SandboxSeed } from './seed-schema.js';

/** Reads and validates a JSON seed file; the error names the file and the bad field. */
export function loadSeedFile(path: string): SandboxSeed {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read sandbox seed file ${path}: ${(e as Error).message}`, { cause: e });
  }
  parseSeed(raw, `seed file ${path}`);
  return raw as SandboxSeed;
}

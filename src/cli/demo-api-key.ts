import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Repositories } from '../store/repositories.js';

/** The demo key's name; earlier versions named each run's key `demo-<time>`. */
export const DEMO_KEY = 'npm-start-demo';

export interface DemoKey {
  secret: string;
  /** False when this run had to make a new one (first run, or the kept one was revoked or lost). */
  reused: boolean;
}

/**
 * The API key `onbehalf up` prints in its tour. The store keeps only a key's hash, so the secret is kept
 * beside the data (mode 0600, like the admin secret file) and the same key is printed on every run: a
 * script written after the first `npm start` keeps working after the next one. Only when the kept key no
 * longer works (revoked in the console, file deleted) is a new one made, and the demo keys whose secret
 * nobody holds any more are revoked with it.
 */
export async function keepDemoKey(repos: Repositories, file: string): Promise<DemoKey> {
  let kept: string | undefined;
  try {
    kept = readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (kept && (await repos.apiKeys.verify(kept))?.name === DEMO_KEY) return { secret: kept, reused: true };
  for (const k of await repos.apiKeys.list()) {
    if ((k.name === DEMO_KEY || /^demo-\d{4}-\d{2}-\d{2}-/.test(k.name)) && k.revokedAt === null) await repos.apiKeys.revoke(k.id);
  }
  const { secret } = await repos.apiKeys.create({ name: DEMO_KEY });
  // Written aside and renamed, so a crash never leaves half a key behind.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${secret}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return { secret, reused: false };
}

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { readKeyFile } from './keyring.js';

// Real processes racing to create the key file: in the suite, not in the `secrets-at-rest` mutation module
// (four processes a run, each loading TypeScript); keyring.test.ts tests the same race in one process.
const execFileAsync = promisify(execFile);
const dir = () => mkdtempSync(join(tmpdir(), 'onbehalf-keys-'));

test('instances started at once on a missing key file all end up with one and the same key', { timeout: 60_000 }, async () => {
  const d = dir();
  const path = join(d, 'master-key.json');
  const go = join(d, 'go');
  const moduleUrl = new URL('./keyring.ts', import.meta.url).href;
  // Each process spins until the go file exists, so they reach loadKeyring as close together as they can;
  // it gives up if this test's process is gone (killed on a timeout), rather than spin on as an orphan.
  const script = `import { existsSync, writeFileSync } from 'node:fs'; const { loadKeyring } = await import(${JSON.stringify(moduleUrl)});
writeFileSync(${JSON.stringify(join(d, 'ready-'))} + process.pid, '');
const parent = process.ppid;
while (!existsSync(${JSON.stringify(go)})) if (process.ppid !== parent) process.exit(3);
const r = loadKeyring({ source: 'file', path: ${JSON.stringify(path)}, generateIfMissing: true });
process.stdout.write(JSON.stringify({ generated: r.generatedFile !== undefined, key: r.keyring.keys.get('k1').toString('base64') }));`;
  const runs = Array.from({ length: 4 }, () => execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 45_000 }));
  while (readdirSync(d).filter((f) => f.startsWith('ready-')).length < runs.length) await new Promise((r) => setTimeout(r, 20));
  writeFileSync(go, '');
  const results = (await Promise.all(runs)).map((r) => JSON.parse(r.stdout) as { generated: boolean; key: string });
  assert.equal(results.filter((r) => r.generated).length, 1, 'exactly one instance generated the key');
  assert.equal(new Set(results.map((r) => r.key)).size, 1, 'every instance has the same key');
  assert.equal(results[0]!.key, readKeyFile(path).keys[0]!.key);
});

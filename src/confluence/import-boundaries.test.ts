import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * src/confluence is protocol-side code: it may use its own files, errors, the clock, the Atlassian
 * retry primitives and undici (the act-as transport's HTTP engine, http-fetch.ts), nothing else. In particular it never imports the sandbox (tests may), so one bug
 * cannot hide in both the client and the emulator it is tested against.
 */
const dir = fileURLToPath(new URL('.', import.meta.url));

const ALLOWED = new Set([
  '../errors.js',
  '../clock.js',
  '../atlassian/parse-retry-after.js',
  '../atlassian/retry-delay.js',
  '../atlassian/should-retry.js',
  '../atlassian/send-request.js',
  'undici',
]);

function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? '');
}

function problems(files: string[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const ok = spec.startsWith('node:') || ALLOWED.has(spec) || (spec.startsWith('./') && spec.endsWith('.js'));
      if (!ok) out.push(`${file.slice(dir.length)} imports ${spec}`);
    }
  }
  return out;
}

test('production code in src/confluence imports only itself, errors, clock, the atlassian retry primitives and undici', () => {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(dir, f));
  assert.ok(files.length >= 5, `the scan found the source files (${files.length})`);
  assert.deepEqual(problems(files), []);
});

test('the scanner sees a sandbox import (it cannot pass vacuously)', () => {
  const spec = ['..', 'sandbox', 'index.js'].join('/');
  assert.deepEqual(importsOf(`import { createSandbox } from '${spec}';\nconst x = await import('${spec}');`), [spec, spec]);
  const testFiles = readdirSync(dir).filter((f) => f.endsWith('.test.ts') && f !== 'import-boundaries.test.ts');
  assert.ok(problems(testFiles.map((f) => join(dir, f))).some((p) => p.includes('sandbox')), 'tests do import the sandbox, and the scanner notices');
});

test('no process.env in src/confluence', () => {
  const offenders = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .filter((f) => /process\.env/.test(readFileSync(join(dir, f), 'utf8')));
  assert.deepEqual(offenders, []);
});

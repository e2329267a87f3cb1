import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));

function sourceFiles(path: string): string[] {
  return readdirSync(path, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(path, e.name)) : e.name.endsWith('.ts') ? [join(path, e.name)] : [],
  );
}

function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? '',
  );
}

const ALLOWED_PACKAGES = new Set(['jose', 'zod']);

// config.ts is allowed for its types (architecture.md: `errors`, `config` types and `clock` sit below everything).
test('src/atlassian imports only itself, ../errors.js, ../clock.js, ../config.js, node built-ins, jose and zod', () => {
  const self = fileURLToPath(import.meta.url);
  const files = sourceFiles(dir).filter((f) => f !== self);
  assert.ok(files.length > 10, 'the scan found the source files');
  const problems: string[] = [];
  for (const file of files) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const ok =
        spec.startsWith('node:') ||
        ALLOWED_PACKAGES.has(spec) ||
        spec === '../errors.js' ||
        spec === '../clock.js' ||
        spec === '../config.js' ||
        (spec.startsWith('./') && spec.endsWith('.js'));
      if (!ok) problems.push(`${file.slice(dir.length)} imports ${spec}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the scanner itself sees a forbidden import', () => {
  // Built at run time so the scan of this very file does not see it.
  const store = ['..', 'store', 'create-store.js'].join('/');
  const sandbox = ['..', 'sandbox', 'a.js'].join('/');
  assert.deepEqual(importsOf(`import { x } from '${store}';\nimport('${sandbox}');`), [store, sandbox]);
});

test('library code never reads process.env', () => {
  const offenders = sourceFiles(dir)
    .filter((f) => !f.endsWith('.test.ts'))
    .filter((f) => /process\.env/.test(readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')));
  assert.deepEqual(offenders, []);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const srcRoot = resolve(here, '..');
// yaml reads Forge manifests; @forge/manifest is Atlassian's own validator (loaded only if installed).
const ALLOWED_PACKAGES = [/^node:/, /^hono(\/|$)/, /^@hono\/node-server(\/|$)/, /^jose$/, /^zod$/, /^yaml$/, /^@forge\/manifest$/];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(name) ? [p] : [];
  });
}

function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of source.matchAll(re)) out.push((m[1] ?? m[2])!);
  return out;
}

test('src/sandbox is an independent implementation: it imports only itself, ../clock.js, node, hono, jose, zod, yaml and @forge/manifest', () => {
  const problems: string[] = [];
  for (const file of files(here)) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        const rel = relative(srcRoot, target).replace(/\\/g, '/');
        if (!rel.startsWith('sandbox/') && rel !== 'clock.js') problems.push(`${relative(here, file)} imports ${spec}`);
      } else if (!ALLOWED_PACKAGES.some((re) => re.test(spec))) {
        problems.push(`${relative(here, file)} imports package ${spec}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('the import scanner sees static, re-export and dynamic imports', () => {
  assert.deepEqual(importsOf(`import { a } from '../atlassian/x.js';\nexport { b } from './b.js';\nconst c = await import('./c.js');`), ['../atlassian/x.js', './b.js', './c.js']);
});

import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

/**
 * Keeps the import directions of architecture.md true: protocol code never touches storage, the sandbox
 * never shares the gateway's protocol code (one bug must not hide in both), and only cli/server sit on top.
 */
const src = new URL('.', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(e) ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2];
    if (spec?.startsWith('.')) out.push(relative(src, resolve(dirname(file), spec)).replace(/\.js$/, ''));
  }
  return out;
}

const area = (path: string) => path.split('/')[0] ?? '';

/** For each area, the areas it must never import. */
const FORBIDDEN: Record<string, string[]> = {
  atlassian: ['store', 'server', 'cli', 'identity', 'broker', 'tenants', 'sandbox', 'gateway', 'confluence'],
  confluence: ['store', 'server', 'cli', 'identity', 'broker', 'tenants', 'sandbox', 'gateway'],
  store: ['server', 'cli', 'identity', 'broker', 'tenants', 'atlassian', 'confluence', 'sandbox', 'gateway'],
  identity: ['server', 'cli', 'sandbox', 'gateway'],
  broker: ['server', 'cli', 'sandbox', 'gateway'],
  tenants: ['server', 'cli', 'sandbox', 'gateway'],
  sandbox: ['atlassian', 'store', 'server', 'cli', 'identity', 'broker', 'tenants', 'confluence', 'gateway', 'config'],
  server: ['cli'],
  client: ['store', 'server', 'cli', 'identity', 'broker', 'tenants', 'sandbox', 'gateway', 'config', 'atlassian'],
};

test('imports flow one way (architecture.md)', () => {
  const violations: string[] = [];
  for (const file of files(src)) {
    const from = relative(src, file);
    const rules = FORBIDDEN[area(from)];
    // Tests and their helpers may reach across (a broker test drives the sandbox); shipped code may not.
    if (!rules || from.endsWith('.test.ts') || from.includes('/test-support/')) continue;
    for (const target of imports(file)) {
      if (rules.includes(area(target))) violations.push(`${from} imports ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the checker sees real imports (it cannot pass vacuously)', () => {
  const seen = imports(join(src, 'gateway.ts'));
  assert.ok(seen.includes('store/create-store'), JSON.stringify(seen));
  assert.ok(seen.includes('server/create-app'));
});

test('library code never reads process.env outside config.ts and the CLI entry', () => {
  const offenders = files(src)
    .filter((f) => !f.endsWith('.test.ts') && !f.includes('/test-support/'))
    .map((f) => relative(src, f))
    .filter((f) => f !== 'config.ts' && f !== 'cli/main.ts')
    .filter((f) => /process\.env\b/.test(readFileSync(join(src, f), 'utf8')));
  assert.deepEqual(offenders, []);
});

/** Every cycle among the source files (tests left out), each as the files around it. Type imports count too. */
export function importCycles(): string[][] {
  const graph = new Map<string, string[]>();
  for (const f of files(src).filter((f) => !/\.test\.tsx?$/.test(f))) {
    const from = relative(src, f).replace(/\.tsx?$/, '');
    graph.set(from, imports(f));
  }
  const cycles: string[][] = [];
  const onStack: string[] = [];
  const done = new Set<string>();
  const visit = (n: string): void => {
    onStack.push(n);
    for (const d of graph.get(n) ?? []) {
      const at = onStack.indexOf(d);
      if (at >= 0) cycles.push(onStack.slice(at));
      else if (!done.has(d) && graph.has(d)) visit(d);
    }
    onStack.pop();
    done.add(n);
  };
  for (const n of graph.keys()) if (!done.has(n)) visit(n);
  return cycles;
}

test('no import cycles, not even through types (a cycle makes load order matter and layers blur)', () => {
  assert.deepEqual(importCycles(), []);
});

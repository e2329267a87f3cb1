import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

/**
 * `npx onbehalf` and `import 'onbehalf/client'` run the built files (package.json `bin` and `exports`
 * point into dist/). Issue 15: after the README's `npm ci` there was no dist/, so both failed until an
 * unmentioned `npm run build`. npm runs `prepare` at the end of `npm ci` and `npm install`, so it builds.
 */
const root = new URL('../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
  exports: Record<string, { types: string; default: string }>;
};
const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string }; exclude: string[] };

test('npm ci builds what bin and exports point at, and the Forge app\'s pages (a prepare script runs both builds)', () => {
  assert.equal(pkg.scripts['prepare'], 'npm run build && node forge-app/build.mjs');
  assert.equal(pkg.scripts['build'], 'tsc -p tsconfig.build.json');
});

test('every bin and exports target is compiled from a source file the build includes', () => {
  const targets = [...Object.values(pkg.bin), ...Object.values(pkg.exports).flatMap((e) => [e.default, e.types])];
  for (const target of targets) {
    const rel = target.replace(/^\.\//, '');
    assert.ok(rel.startsWith(`${build.compilerOptions.outDir}/`), `${target} is under ${build.compilerOptions.outDir}/`);
    const source = join(root, build.compilerOptions.rootDir, rel.slice(build.compilerOptions.outDir.length + 1).replace(/\.d\.ts$|\.js$/, '.ts'));
    assert.ok(existsSync(source), `${target} is built from ${source}`);
    assert.ok(!/\.test\.ts$|test-support/.test(source), `${source} is not excluded from the build`);
  }
  const main = readFileSync(join(root, 'src', pkg.bin['onbehalf']?.replace(/^(\.\/)?dist\//, '').replace(/\.js$/, '.ts') ?? ''), 'utf8');
  assert.ok(main.startsWith('#!/usr/bin/env node\n'), 'the CLI entry has a shebang, so npx can run it');
});

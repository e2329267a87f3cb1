#!/usr/bin/env node
// `npm run mutation [-- module ...]`: StrykerJS over the security-critical modules listed in
// mutation/modules.mjs, one module at a time (each with only its own tests), then one summary line per
// module. Not part of `npm test` or CI: a tool for whoever changes one of these modules. See docs/testing.md.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MODULES } from '../mutation/modules.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = asked.filter((m) => !(m in MODULES));
if (process.argv.includes('--list') || unknown.length > 0) {
  if (unknown.length > 0) console.error(`unknown module(s): ${unknown.join(', ')}\n`);
  for (const [name, m] of Object.entries(MODULES)) console.log(`${name.padEnd(22)} ${m.about}`);
  process.exit(unknown.length > 0 ? 2 : 0);
}
const names = asked.length > 0 ? asked : Object.keys(MODULES);

/** Counts by Stryker status from a module's JSON report. */
function summarise(name) {
  const file = join(root, 'reports', 'mutation', name, 'mutation.json');
  if (!existsSync(file)) return `${name}: no report`;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const counts = {};
  for (const f of Object.values(report.files)) for (const m of f.mutants) counts[m.status] = (counts[m.status] ?? 0) + 1;
  const detected = (counts.Killed ?? 0) + (counts.Timeout ?? 0);
  const valid = detected + (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
  const score = valid === 0 ? 'n/a' : `${((100 * detected) / valid).toFixed(2)}%`;
  return `${name.padEnd(22)} score ${score.padStart(7)}  killed ${counts.Killed ?? 0}, timeout ${counts.Timeout ?? 0}, survived ${counts.Survived ?? 0}, no coverage ${counts.NoCoverage ?? 0}, errors ${(counts.CompileError ?? 0) + (counts.RuntimeError ?? 0)}, ignored ${counts.Ignored ?? 0}`;
}

const stryker = join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
const lines = [];
let failed = false;
for (const name of names) {
  console.log(`\n=== mutation: ${name} (${MODULES[name].about})`);
  const run = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs'], { cwd: root, stdio: 'inherit', env: { ...process.env, ONBEHALF_MUTATION_MODULE: name } });
  if (run.status !== 0) failed = true;
  lines.push(run.status === 0 ? summarise(name) : `${name}: stryker exited with ${run.status ?? run.signal}`);
}
console.log(`\nmutation scores (reports in reports/mutation/<module>/mutation.html):\n${lines.join('\n')}`);
process.exit(failed ? 1 : 0);

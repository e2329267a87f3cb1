#!/usr/bin/env node
// Node 20's test runner cannot glob, and its default file patterns skip .ts, so this script finds the
// test files and hands them to `node --test` with tsx loaded. Extra arguments narrow the run:
// `node scripts/run-tests.mjs src/store` runs only the tests under src/store.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
const searchRoots = roots.length > 0 ? roots : ['src', 'test'];

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) {
    if (/\.test\.tsx?$/.test(path)) out.push(path);
    return;
  }
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    collect(join(path, entry), out);
  }
}

const files = [];
for (const r of searchRoots) {
  // The default roots may not exist yet in a fresh clone (git keeps no empty folders); named ones must.
  if (roots.length === 0 && !existsSync(join(root, r))) continue;
  collect(join(root, r), files);
}
files.sort();
if (files.length === 0) {
  console.error(`no test files under ${searchRoots.join(', ')}`);
  process.exit(1);
}

// Every test that waits on a lock or the network has its own timeout; once one fires, whatever it waited on
// (a poll timer, an open socket) could keep its file's process alive. test-file-exit.mjs ends such a process
// once its report is out (not --test-force-exit, which on Node 20 cuts reports short), so the run goes on.
const [major, minor] = process.versions.node.split('.').map(Number);
// A backstop for a test added without its own timeout: 5 minutes, far above any test's run, so a hang still
// ends as a named failure. Tests that wait keep their own, tighter timeouts.
const backstop = major > 20 || (major === 20 && minor >= 11) ? ['--test-timeout=300000'] : [];
const args = [
  '--import',
  'tsx',
  '--import',
  './scripts/test-file-exit.mjs',
  '--test',
  ...backstop,
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '2'}`,
  ...passThrough,
  ...files.map((f) => relative(root, f)),
];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));

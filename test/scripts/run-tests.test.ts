import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

// scripts/run-tests.mjs is how every test here runs (npm test, .ci/run): its totals are what CI reads, so they
// must be whole, and a file that leaves a handle open must end, not hang the run.
const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'onbehalf-run-tests-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], graceMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // NODE_TEST_CONTEXT marks this process as a test file's; inherited, it would make the nested runner
    // report to us instead of running as `npm test` does.
    const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env;
    const child = spawn(process.execPath, ['scripts/run-tests.mjs', ...args], {
      cwd: root,
      env: { ...env, TEST_EXIT_GRACE_MS: String(graceMs) },
      // Its own process group, so the watchdog ends the runner's `node --test` child too, not just the runner.
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const watchdog = setTimeout(() => process.kill(-(child.pid ?? 0), 'SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(watchdog);
      resolve({ code, stdout, stderr });
    });
  });
}

test('every test of every file is counted, and a file that leaves a timer running is ended, named, with its failure kept', { timeout: 90_000 }, async () => {
  // Long names make each file's report large, where an early exit used to cut reports short.
  writeFileSync(
    join(dir, 'many.test.ts'),
    `import { test } from 'node:test';\nfor (let i = 0; i < 400; i++) test('case ' + i + ' ' + 'x'.repeat(300), () => {});\nsetInterval(() => {}, 1000);\n`,
  );
  writeFileSync(
    join(dir, 'fails.test.ts'),
    `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\ntest('a failing case', () => assert.equal(1, 2));\nsetInterval(() => {}, 1000);\n`,
  );
  // The grace is counted from the file's last hook, while its report may still be on the way: 5 s is far
  // more than writing it takes even on a loaded machine.
  const out = await run([relative(root, dir)], 5_000);
  assert.equal(out.code, 1, 'a failing test fails the run');
  assert.match(out.stdout, /^# tests 401$/m, out.stdout.slice(-400));
  assert.match(out.stdout, /^# pass 400$/m);
  assert.match(out.stdout, /^# fail 1$/m);
  assert.match(out.stdout, /open handles 5000 ms after its tests ended \(.*Timeout.*\)/);
});

test('a run whose files close everything exits 0 with whole totals', { timeout: 90_000 }, async () => {
  const clean = join(dir, 'clean');
  mkdirSync(clean);
  // Six files of large reports: the more report is in flight when files end, the likelier a cut-off shows.
  for (const n of [1, 2, 3, 4, 5, 6]) {
    writeFileSync(join(clean, `f${n}.test.ts`), `import { test } from 'node:test';\nfor (let i = 0; i < 300; i++) test('f${n} case ' + i + ' ' + 'y'.repeat(300), () => {});\n`);
  }
  // A long grace: these files must end by themselves, and the totals must still be whole.
  const out = await run([relative(root, clean)], 60_000);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^# tests 1800$/m, out.stdout.slice(-400));
  assert.match(out.stdout, /^# pass 1800$/m);
  assert.doesNotMatch(out.stdout, /open handles/);
});

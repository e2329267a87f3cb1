// StrykerJS configuration for `npm run mutation` (see docs/testing.md). One module of mutation/modules.mjs
// per run, named by ONBEHALF_MUTATION_MODULE; scripts/mutation.mjs sets it and runs the modules one by one.
import { MODULES } from './mutation/modules.mjs';

const name = process.env.ONBEHALF_MUTATION_MODULE;
const module = name ? MODULES[name] : undefined;
if (!module) {
  throw new Error(`Set ONBEHALF_MUTATION_MODULE to one of: ${Object.keys(MODULES).join(', ')} (or run npm run mutation).`);
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: module.mutate,
  // Each test file runs as its own node process, in-process tests (no --test, so no child processes that
  // Stryker's coverage hook could not see), reporting TAP. tsx loads the (mutated) TypeScript as it is.
  testRunner: 'tap',
  tap: {
    testFiles: module.tests,
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '{{testFile}}'],
    forceBail: true,
  },
  plugins: ['@stryker-mutator/tap-runner'],
  // Per test file: a mutant runs only the files of this module that reached it in the dry run.
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
  // A mutant that makes a test wait (a lock never taken, a stream never closed) counts as detected once
  // it runs this much longer than the test file did without mutants.
  timeoutMS: 10_000,
  timeoutFactor: 2,
  // Only what changed since the last run of this module is mutated again; delete the file to start over.
  incremental: process.env.MUTATION_FULL !== '1',
  incrementalFile: `reports/mutation/${name}/stryker-incremental.json`,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${name}/mutation.json` },
  htmlReporter: { fileName: `reports/mutation/${name}/mutation.html` },
  clearTextReporter: { allowColor: false, logTests: false },
  thresholds: { high: 100, low: 90, break: null },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['reports', 'test-artifacts', 'data', 'dist'],
  cleanTempDir: true,
};

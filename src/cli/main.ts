#!/usr/bin/env node
import { runCli } from './run-cli.js';

const stopSignal = new Promise<string>((resolve) => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
});

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  stopSignal,
});
process.exitCode = code;
// Long-running commands have closed their servers by now; nothing should keep the loop alive.
if (code !== 0 || !['serve', 'up', 'sandbox'].includes(process.argv[2] ?? '')) setTimeout(() => process.exit(code), 100).unref();

import { runSandboxCommand } from '../../sandbox/index.js';
import type { Command } from '../command.js';
import { explainPortInUse } from '../explain-port-in-use.js';
import { parsePort } from '../parse-port.js';

export const sandboxCommand: Command = {
  name: ['sandbox'],
  summary: 'Run the local emulator of Confluence Cloud and Atlassian auth servers.',
  usage: 'onbehalf sandbox [--port N] [--host H] [--seed FILE]',
  options: { port: { type: 'string' }, host: { type: 'string' }, seed: { type: 'string' } },
  help: `  --port N               port to listen on (default 4100; 0 = any free port)
  --host H               interface (default 127.0.0.1)
  --seed FILE            JSON seed with sites, users, spaces, pages (default: the built-in demo seed)

On start it prints one JSON line to stdout, {"url": ..., "discovery": ..., "sites": [...]}, then serves
until Ctrl-C. See docs/sandbox.md for the endpoints and the control API.`,
  async run(ctx) {
    const port = parsePort(ctx.values['port'], 4100, '--port');
    const seedPath = typeof ctx.values['seed'] === 'string' ? ctx.values['seed'] : undefined;
    const host = typeof ctx.values['host'] === 'string' ? ctx.values['host'] : '127.0.0.1';
    // The sandbox owns its ready line; the CLI owns argv and signals.
    const server = await explainPortInUse({ what: 'the sandbox', port, flag: '--port' }, () => runSandboxCommand({ port, host, ...(seedPath ? { seedPath } : {}), write: (line) => ctx.out(line.trimEnd()) }));
    await ctx.stopSignal;
    await server.close();
    return 0;
  },
};

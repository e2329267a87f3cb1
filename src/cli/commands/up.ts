import { createGateway } from '../../gateway.js';
import { startSandboxServer } from '../../sandbox/index.js';
import { CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, SERVER_OPTIONS, SERVER_OPTIONS_HELP, type Command } from '../command.js';
import { configFromArgs } from '../config-from-args.js';
import { parsePort } from '../parse-port.js';

/**
 * `npm start`: the sandbox and the gateway side by side on loopback, with the embedded SQLite file, and a
 * short tour of what to open. It grows with the product: each built feature adds its step to the tour.
 */
export const upCommand: Command = {
  name: ['up'],
  summary: 'Start the sandbox and the gateway together and print what to open (npm start).',
  usage: 'onbehalf up [--sandbox-port N] [flags]',
  options: { ...SERVER_OPTIONS, ...CONFIG_OPTIONS, 'sandbox-port': { type: 'string' } },
  help: `  --sandbox-port N       port of the sandbox (default 4100)\n${SERVER_OPTIONS_HELP}\n${CONFIG_OPTIONS_HELP}`,
  async run(ctx) {
    const config = configFromArgs(ctx);
    const sandbox = await startSandboxServer({ port: parsePort(ctx.values['sandbox-port'], 4100, '--sandbox-port') });
    let gateway: Awaited<ReturnType<typeof createGateway>> | undefined;
    try {
      gateway = await createGateway(config);
      const { url } = await gateway.listen();
      const discovery = sandbox.sandbox.control.discovery();
      const alice = discovery.users[0];
      const site = discovery.sites[0];
      const lines = [
        '',
        'onbehalf is running in sandbox mode: nothing here talks to Atlassian.',
        '',
        `  Gateway     ${url}`,
        `              ${url}/healthz  ${url}/readyz  ${url}/metrics`,
        `  Data        ${gateway.store.description}`,
        '',
        `  Sandbox     ${sandbox.url}   (Confluence Cloud and Atlassian's auth servers, emulated)`,
        `    sign in   ${sandbox.url}/login   (pick a seeded user)`,
        ...discovery.sites.map((s) => `    site      ${s.key.padEnd(8)} ${s.baseUrl}`),
        `    discovery ${sandbox.url}/_sandbox/discovery   (every endpoint, site and user)`,
      ];
      if (alice && site) {
        lines.push('', '  Try the sandbox as a seeded user (Basic auth with their API token):');
        lines.push(`    curl -u ${alice.email}:alice-api-token ${site.baseUrl}/rest/api/user/current`);
      }
      lines.push(
        '',
        '  Not built yet: installing the gateway as a Connect app, linking users, and acting as them',
        '  through the API and proxy. See README.md for what works today.',
        '',
        'Ctrl-C stops both.',
      );
      for (const line of lines) ctx.out(line);
      await ctx.stopSignal;
      return 0;
    } finally {
      await gateway?.close();
      await sandbox.close();
    }
  },
};

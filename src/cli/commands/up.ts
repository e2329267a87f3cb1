import { join } from 'node:path';
import type { Config } from '../../config.js';
import { createGateway, type Gateway } from '../../gateway.js';
import { ensureAdminSecretFile } from '../admin-secret-file.js';
import { keepDemoKey } from '../demo-api-key.js';
import { DEFAULT_ACCOUNTS, startSandboxServer } from '../../sandbox/index.js';
import { CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, SERVER_OPTIONS, SERVER_OPTIONS_HELP, type Command, type CommandContext } from '../command.js';
import { configFromArgs } from '../config-from-args.js';
import { explainPortInUse } from '../explain-port-in-use.js';
import { freePort } from '../free-port.js';
import { parsePort } from '../parse-port.js';
import { DEMO_FORGE_APP_ID, forgeTour } from '../forge-tour.js';

/**
 * Whether `up` brings its own sandbox: only when nothing points at Atlassian (or at another sandbox). Real
 * settings are a 3LO client id, an https base URL (Atlassian only installs apps served over https), an
 * overridden Atlassian endpoint, or a sandbox URL given explicitly.
 */
export function startsSandbox(config: Config): boolean {
  return (
    config.atlassian.sandboxUrl === null &&
    config.oauth.clientId === null &&
    new URL(config.server.baseUrl).protocol === 'http:' &&
    Object.keys(config.atlassian.endpointOverrides).length === 0
  );
}

function consoleLines(gateway: Gateway, url: string, secretSource: string | null): string[] {
  if (gateway.config.admin.secret === null) return [`  Admin       off: set ONBEHALF_ADMIN_SECRET (32+ characters) to turn on ${url}/admin`];
  return [
    `  Admin       ${url}/admin`,
    secretSource ? `              sign in with the admin secret ${gateway.config.admin.secret}   (kept in ${secretSource})` : '              sign in with the value of ONBEHALF_ADMIN_SECRET',
  ];
}

/** With real Atlassian settings: the gateway alone, as `serve` runs it, with a short ready text. */
async function runGatewayAlone(ctx: CommandContext, config: Config): Promise<number> {
  const gateway = await createGateway(config);
  try {
    const { url } = await explainPortInUse({ what: 'the gateway', port: config.server.port, flag: '--port', env: 'ONBEHALF_PORT' }, () => gateway.listen());
    const lines = [
      '',
      `onbehalf is running against ${config.atlassian.sandboxUrl ? `the sandbox at ${config.atlassian.sandboxUrl}` : 'Atlassian Cloud'} (no sandbox started).`,
      '',
      `  Gateway     ${url}   (public URL ${config.server.baseUrl})`,
      `              ${config.server.baseUrl}/atlassian-connect.json  ${url}/readyz`,
      `  Data        ${gateway.store.description}`,
      ...consoleLines(gateway, config.server.baseUrl, null),
      '',
      'Ctrl-C stops it.',
    ];
    for (const line of lines) ctx.out(line);
    await ctx.stopSignal;
    return 0;
  } finally {
    await gateway.close();
  }
}

/**
 * `npm start`: the sandbox and the gateway side by side on loopback, the gateway's Connect app installed
 * into a sandbox site and its Forge app into another, and a short tour of what to open. Each feature adds
 * its step to the tour.
 */
export const upCommand: Command = {
  name: ['up'],
  summary: 'Start the sandbox and the gateway together, install the app and print a tour (npm start).',
  usage: 'onbehalf up [--sandbox-port N] [flags]',
  options: { ...SERVER_OPTIONS, ...CONFIG_OPTIONS, 'sandbox-port': { type: 'string' } },
  help: `  --sandbox-port N       port of the sandbox (default 4100)\n${SERVER_OPTIONS_HELP}\n${CONFIG_OPTIONS_HELP}`,
  async run(ctx) {
    const settings = configFromArgs(ctx);
    if (!startsSandbox(settings)) return runGatewayAlone(ctx, settings);
    // Sandbox mode: a console secret of its own unless one is configured, kept in the data folder.
    let secretSource: string | null = null;
    if (settings.admin.secret === null) {
      const file = join(settings.dataDir, 'admin-secret');
      const kept = ensureAdminSecretFile(file);
      if (kept.looseBits !== 0) ctx.err(`The admin secret file ${file} is readable by other users; run: chmod 600 ${file}`);
      ctx = { ...ctx, env: { ...ctx.env, ONBEHALF_ADMIN_SECRET: kept.secret } };
      secretSource = file;
    }
    // The tour is what a newcomer reads: keep request logs from scrolling it away unless asked for.
    const quietLogs = ctx.env['ONBEHALF_LOG_LEVEL'] === undefined && ctx.values['log-level'] === undefined;
    if (quietLogs) ctx = { ...ctx, env: { ...ctx.env, ONBEHALF_LOG_LEVEL: 'warn' } };
    // The gateway is also the remote of the shipped Forge app in the sandbox, unless another app id is set.
    if (ctx.env['ONBEHALF_FORGE_APP_ID'] === undefined) ctx = { ...ctx, env: { ...ctx.env, ONBEHALF_FORGE_APP_ID: DEMO_FORGE_APP_ID } };
    const sandboxPort = parsePort(ctx.values['sandbox-port'], 4100, '--sandbox-port');
    const sandbox = await explainPortInUse({ what: 'the sandbox', port: sandboxPort, flag: '--sandbox-port' }, () => startSandboxServer({ port: sandboxPort }));
    let gateway: Awaited<ReturnType<typeof createGateway>> | undefined;
    try {
      const probe = configFromArgs(ctx, { sandboxUrl: sandbox.url });
      // The Connect descriptor carries the gateway's URL, so the port must be known before it starts.
      const port = probe.server.port === 0 ? await freePort(probe.server.host) : probe.server.port;
      const config = configFromArgs(ctx, { sandboxUrl: sandbox.url, port: String(port) });
      gateway = await createGateway(config);
      const started = gateway;
      const { url } = await explainPortInUse({ what: 'the gateway', port, flag: '--port', env: 'ONBEHALF_PORT' }, () => started.listen());
      const discovery = sandbox.sandbox.control.discovery();
      const site = discovery.sites[0];
      const installed = site ? await sandbox.sandbox.control.installApp(site.key, `${config.server.baseUrl}/atlassian-connect.json`) : undefined;
      const bob = discovery.users.find((u) => u.accountId === DEFAULT_ACCOUNTS.bob);

      const lines = [
        '',
        'onbehalf is running in sandbox mode: nothing here talks to Atlassian.',
        '',
        `  Gateway     ${url}`,
        `              ${url}/atlassian-connect.json  ${url}/readyz  ${url}/metrics`,
        `  Data        ${gateway.store.description}`,
        '',
        `  Sandbox     ${sandbox.url}   (Confluence Cloud and Atlassian's auth servers, emulated)`,
        `    sign in   ${sandbox.url}/login   (pick a seeded user)`,
        ...discovery.sites.map((s) => `    site      ${s.key.padEnd(8)} ${s.baseUrl}`),
        `    discovery ${sandbox.url}/_sandbox/discovery   (every endpoint, site and user)`,
        '',
      ];
      const alice = discovery.users.find((u) => u.accountId === DEFAULT_ACCOUNTS.alice);
      if (installed?.ok && site) {
        lines.push(`  The gateway is installed as a Connect app on "${site.key}" (signed install, secret sealed in the store).`);
        const keyFile = join(config.dataDir, 'demo-api-key');
        const { secret, reused } = await keepDemoKey(gateway.repos, keyFile);
        // The tour says what is already done: a restart must not ask for a link that exists.
        const linked = await gateway.repos.links.liveForUser(site.cloudId, 'demo-alice');
        if (linked?.status === 'linked') {
          const who = discovery.users.find((u) => u.accountId === linked.accountId)?.displayName ?? linked.accountId;
          lines.push('', `  1. Done: demo-alice is linked to ${who}'s account (since ${new Date(linked.verifiedAt ?? linked.createdAt).toISOString()}).`, `     To link again, revoke it in the console (Users & links) and restart.`);
        } else {
          // A demo session without the confirmation step, so one click links; real apps keep the guard on.
          const session = await gateway.linking.sessions.start({ externalUserId: 'demo-alice', route: 'connect', cloudId: site.cloudId, requireConfirmation: false, ttlMs: 3_600_000 });
          lines.push(
            '',
            `  1. Link your demo user "demo-alice" to ${alice?.displayName ?? 'Alice'}'s Atlassian account:`,
            `     sign in at ${sandbox.url}/login as ${alice?.displayName ?? 'Alice Admin'}, then open`,
            `     ${session.url}`,
            `     and click Allow (valid for an hour).`,
          );
        }
        lines.push(
          '',
          `  2. Create a page as demo-alice through the proxy (API key ${secret}, kept in ${keyFile}${reused ? ', the same as last run' : ''}):`,
          `     curl -X POST -H "Authorization: Bearer ${secret}" -H "Content-Type: application/json" \\`,
          `       -d '{"spaceId":"65537","title":"Hello from onbehalf","body":{"representation":"storage","value":"<p>hi</p>"}}' \\`,
          `       ${url}/v1/act/demo-alice/${site.key}/api/v2/pages`,
          '',
          `  3. Or mint a token and call Confluence yourself:`,
          `     curl -X POST -H "Authorization: Bearer ${secret}" -H "Content-Type: application/json" -d '{"externalUserId":"demo-alice","site":"${site.key}"}' ${url}/v1/tokens`,
          '',
          `  API reference: ${url}/openapi.json`,
        );
        if (bob) {
          lines.push('', `  From a terminal, any account (CLI, no link needed): npm run -s onbehalf -- token --site ${site.key} --account ${bob.accountId} --sandbox-url ${sandbox.url}`);
        }
        lines.push(...(await forgeTour(sandbox, gateway, { url, apiKey: secret, step: 4 })));
      } else if (installed && !installed.ok) {
        lines.push(`  Installing the Connect app failed: ${installed.message}`);
      }
      lines.push('', ...consoleLines(gateway, url, secretSource), `              (users, links, link sessions, accounts, mapping, audit log, API keys, policies)`, '', ...(quietLogs ? ['  Logs: warnings only; add --log-level info to see every request.', ''] : []), 'Ctrl-C stops both.');
      for (const line of lines) ctx.out(line);
      await ctx.stopSignal;
      return 0;
    } finally {
      await gateway?.close();
      await sandbox.close();
    }
  },
};

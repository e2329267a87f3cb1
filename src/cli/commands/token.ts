import { GatewayError } from '../../errors.js';
import { createGateway } from '../../gateway.js';
import { silentLogger } from '../../logger.js';
import { findTenant } from '../../tenants/find-tenant.js';
import { CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, SERVER_OPTIONS, type Command } from '../command.js';
import { configFromArgs } from '../config-from-args.js';

export const tokenCommand: Command = {
  name: ['token'],
  summary: 'Print a valid access token for a user on a site (for scripts and debugging).',
  usage: 'onbehalf token --site SITE --account ACCOUNT_ID [--scope S ...] [flags]',
  options: { ...SERVER_OPTIONS, ...CONFIG_OPTIONS, site: { type: 'string' }, account: { type: 'string' }, scope: { type: 'string', multiple: true } },
  help: `  --site SITE            cloud id, base URL or key (acme) of an installed site
  --account ID           the Atlassian account to act as
  --scope S              Connect scope to ask for (READ, WRITE, ...); repeat; default: the app's scopes
${CONFIG_OPTIONS_HELP}

Prints {"accessToken","tokenType","expiresAt","apiBaseUrl","route"} as JSON. The token is a credential:
treat the output as a secret.`,
  async run(ctx) {
    const site = ctx.values['site'];
    const account = ctx.values['account'];
    if (typeof site !== 'string' || typeof account !== 'string') throw new GatewayError('BAD_REQUEST', 'Give both --site and --account.');
    const gateway = await createGateway(configFromArgs(ctx), { logger: silentLogger() });
    try {
      const tenant = await findTenant(gateway.repos, site, { route: 'connect', appKey: gateway.config.connect.appKey });
      const scopes = (ctx.values['scope'] as string[] | undefined) ?? [];
      const t = await gateway.connect.broker.tokenFor({ tenant, accountId: account, scopes });
      ctx.out(JSON.stringify({ accessToken: t.accessToken, tokenType: t.tokenType, expiresAt: new Date(t.expiresAt).toISOString(), apiBaseUrl: t.apiBaseUrl, route: t.route }));
      return 0;
    } finally {
      await gateway.close();
    }
  },
};

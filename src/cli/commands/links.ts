import { CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, type Command } from '../command.js';
import { configFromArgs } from '../config-from-args.js';
import { openServices } from '../open-services.js';

export const linksListCommand: Command = {
  name: ['links', 'list'],
  summary: 'List links between your users and Atlassian accounts.',
  usage: 'onbehalf links list [--user EXTERNAL_ID] [--account ID] [--site CLOUD_ID] [--status S] [--json]',
  options: { ...CONFIG_OPTIONS, user: { type: 'string' }, account: { type: 'string' }, site: { type: 'string' }, status: { type: 'string' }, json: { type: 'boolean' } },
  help: `  --user EXTERNAL_ID  --account ID  --site CLOUD_ID  --status pending_confirmation|linked|reauth_required|revoked  --json\n${CONFIG_OPTIONS_HELP}`,
  async run(ctx) {
    const s = (k: string) => (typeof ctx.values[k] === 'string' ? (ctx.values[k] as string) : undefined);
    const status = s('status');
    const statuses = ['pending_confirmation', 'linked', 'reauth_required', 'revoked'] as const;
    if (status !== undefined && !(statuses as readonly string[]).includes(status)) {
      ctx.err(`--status must be one of ${statuses.join(', ')}`);
      return 2;
    }
    const services = await openServices(configFromArgs(ctx), { migrate: true, say: ctx.err });
    try {
      const links = await services.repos.links.list({
        limit: 1000,
        ...(s('user') ? { externalUserId: s('user') } : {}),
        ...(s('account') ? { accountId: s('account') } : {}),
        ...(s('site') ? { cloudId: s('site') } : {}),
        ...(status ? { status: status as (typeof statuses)[number] } : {}),
      });
      for (const l of links) {
        if (ctx.values['json'] === true) ctx.out(JSON.stringify(l));
        else ctx.out([l.externalUserId, l.accountId, l.cloudId, l.route, l.status, l.statusReason ?? '', new Date(l.createdAt).toISOString()].join('  '));
      }
      if (links.length === 0 && ctx.values['json'] !== true) ctx.out('No links match.');
      return 0;
    } finally {
      await services.close();
    }
  },
};

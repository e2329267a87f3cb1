import { CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, type Command } from '../command.js';
import { configFromArgs } from '../config-from-args.js';
import { openServices } from '../open-services.js';

export const auditCommand: Command = {
  name: ['audit'],
  summary: 'Show the audit log, newest first, with filters.',
  usage: 'onbehalf audit [--account ID] [--user EXTERNAL_ID] [--site CLOUD_ID] [--action NAME] [--limit N] [--json]',
  options: {
    ...CONFIG_OPTIONS,
    account: { type: 'string' },
    user: { type: 'string' },
    site: { type: 'string' },
    action: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  },
  help: `  --account ID  --user EXTERNAL_ID  --site CLOUD_ID  --action NAME  --limit N (default 50)  --json\n${CONFIG_OPTIONS_HELP}`,
  async run(ctx) {
    const s = (k: string) => (typeof ctx.values[k] === 'string' ? (ctx.values[k] as string) : undefined);
    const limit = Number(s('limit') ?? '50');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      ctx.err('--limit must be a whole number from 1 to 1000');
      return 2;
    }
    const services = await openServices(configFromArgs(ctx), { migrate: true, say: ctx.err });
    try {
      const events = await services.repos.audit.query({
        limit,
        ...(s('account') ? { accountId: s('account') } : {}),
        ...(s('user') ? { externalUserId: s('user') } : {}),
        ...(s('site') ? { cloudId: s('site') } : {}),
        ...(s('action') ? { action: s('action') } : {}),
      });
      for (const e of events) {
        if (ctx.values['json'] === true) ctx.out(JSON.stringify(e));
        else
          ctx.out(
            [new Date(e.at).toISOString(), e.action, `${e.actorType}${e.actorId ? `:${e.actorId}` : ''}`, e.cloudId ?? '-', e.accountId ?? '-', e.externalUserId ?? '-', e.route ?? '-', e.reason ?? ''].join('  '),
          );
      }
      if (events.length === 0 && ctx.values['json'] !== true) ctx.out('No audit events match.');
      return 0;
    } finally {
      await services.close();
    }
  },
};

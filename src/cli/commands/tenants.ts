import { systemClock } from '../../clock.js';
import { createGateway } from '../../gateway.js';
import { silentLogger } from '../../logger.js';
import { CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, SERVER_OPTIONS, type Command } from '../command.js';
import { configFromArgs } from '../config-from-args.js';
import { openServices } from '../open-services.js';

export const tenantsListCommand: Command = {
  name: ['tenants', 'list'],
  summary: 'List the sites that installed the app, with route and status.',
  usage: 'onbehalf tenants list [--json] [flags]',
  options: { ...CONFIG_OPTIONS, json: { type: 'boolean' } },
  help: CONFIG_OPTIONS_HELP,
  async run(ctx) {
    const services = await openServices(configFromArgs(ctx), { migrate: true, say: ctx.err });
    try {
      const tenants = await services.repos.tenants.list();
      if (tenants.length === 0 && ctx.values['json'] !== true) ctx.out('No site has installed the app yet.');
      for (const t of tenants) {
        if (ctx.values['json'] === true) ctx.out(JSON.stringify(t));
        else ctx.out(`${t.status.padEnd(11)} ${t.route.padEnd(8)} ${t.baseUrl}  cloudId ${t.cloudId ?? '-'}  since ${new Date(t.installedAt).toISOString()}${t.purgeAfter ? `  purge after ${new Date(t.purgeAfter).toISOString()}` : ''}`);
      }
      return 0;
    } finally {
      await services.close();
    }
  },
};

const SESSION_RETENTION_MS = 7 * 86_400_000;

export const tenantsPurgeCommand: Command = {
  name: ['tenants', 'purge'],
  summary: 'Delete the data of uninstalled sites whose retention has passed, and long-expired link sessions.',
  usage: 'onbehalf tenants purge [--dry-run] [flags]',
  options: { ...SERVER_OPTIONS, ...CONFIG_OPTIONS, 'dry-run': { type: 'boolean' } },
  help: `  --dry-run              list what would be purged, delete nothing\n${CONFIG_OPTIONS_HELP}`,
  async run(ctx) {
    const gateway = await createGateway(configFromArgs(ctx), { logger: silentLogger() });
    try {
      if (ctx.values['dry-run'] === true) {
        const due = await gateway.repos.tenants.listPurgeable(systemClock.now());
        for (const t of due) ctx.out(`would purge ${t.baseUrl} (uninstalled ${new Date(t.uninstalledAt ?? 0).toISOString()})`);
        if (due.length === 0) ctx.out('Nothing is due for purging.');
        return 0;
      }
      const purged = await gateway.connect.lifecycle.purge();
      for (const t of purged) ctx.out(`purged ${t.baseUrl}`);
      // Link sessions are only useful for minutes; a week after expiry they go too.
      const sessions = await gateway.repos.linkSessions.deleteExpired(systemClock.now() - SESSION_RETENTION_MS);
      if (sessions > 0) ctx.out(`purged ${sessions} expired link session(s)`);
      if (purged.length === 0 && sessions === 0) ctx.out('Nothing is due for purging.');
      return 0;
    } finally {
      await gateway.close();
    }
  },
};

import { GatewayError } from '../../errors.js';
import { CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, type Command } from '../command.js';
import { configFromArgs } from '../config-from-args.js';
import { openServices } from '../open-services.js';

export const apikeysCreateCommand: Command = {
  name: ['apikeys', 'create'],
  summary: 'Create an API key for an app backend; the key is printed once.',
  usage: 'onbehalf apikeys create --name NAME [--site SITE ...] [flags]',
  options: { ...CONFIG_OPTIONS, name: { type: 'string' }, site: { type: 'string', multiple: true }, json: { type: 'boolean' } },
  help: `  --name NAME            a label to tell keys apart (required)
  --site SITE            limit the key to a site (cloud id or site key); repeat for several
  --json                 print {id,name,key,sites} as JSON
${CONFIG_OPTIONS_HELP}`,
  async run(ctx) {
    const name = ctx.values['name'];
    if (typeof name !== 'string') throw new GatewayError('BAD_REQUEST', 'Give the key a name: onbehalf apikeys create --name my-backend');
    const sites = (ctx.values['site'] as string[] | undefined) ?? null;
    const services = await openServices(configFromArgs(ctx), { migrate: true, say: ctx.err });
    try {
      const { apiKey, secret } = await services.repos.apiKeys.create({ name, sites });
      if (ctx.values['json'] === true) {
        ctx.out(JSON.stringify({ id: apiKey.id, name: apiKey.name, key: secret, sites: apiKey.sites }));
      } else {
        ctx.out(`API key "${apiKey.name}" (${apiKey.id})${apiKey.sites ? ` limited to ${apiKey.sites.join(', ')}` : ''}:`);
        ctx.out('');
        ctx.out(`  ${secret}`);
        ctx.out('');
        ctx.out('It is shown only now; onbehalf keeps only its hash. Send it as: Authorization: Bearer <key>');
      }
      return 0;
    } finally {
      await services.close();
    }
  },
};

export const apikeysListCommand: Command = {
  name: ['apikeys', 'list'],
  summary: 'List API keys (prefix, name, sites, last use); never the keys themselves.',
  usage: 'onbehalf apikeys list [--all] [--json] [flags]',
  options: { ...CONFIG_OPTIONS, all: { type: 'boolean' }, json: { type: 'boolean' } },
  help: `  --all                  include revoked keys\n  --json                 one JSON object per line\n${CONFIG_OPTIONS_HELP}`,
  async run(ctx) {
    const services = await openServices(configFromArgs(ctx), { migrate: true, say: ctx.err });
    try {
      const keys = await services.repos.apiKeys.list({ includeRevoked: ctx.values['all'] === true });
      if (ctx.values['json'] === true) {
        for (const k of keys) ctx.out(JSON.stringify(k));
        return 0;
      }
      if (keys.length === 0) ctx.out('No API keys. Create one with: onbehalf apikeys create --name NAME');
      for (const k of keys) {
        const state = k.revokedAt ? `revoked ${new Date(k.revokedAt).toISOString()}` : k.lastUsedAt ? `last used ${new Date(k.lastUsedAt).toISOString()}` : 'never used';
        ctx.out(`${k.prefix}…  ${k.name}  ${k.id}  sites: ${k.sites?.join(',') ?? 'all'}  ${state}`);
      }
      return 0;
    } finally {
      await services.close();
    }
  },
};

export const apikeysRevokeCommand: Command = {
  name: ['apikeys', 'revoke'],
  summary: 'Revoke an API key by id or name; it stops working at once.',
  usage: 'onbehalf apikeys revoke ID_OR_NAME [flags]',
  options: { ...CONFIG_OPTIONS },
  help: CONFIG_OPTIONS_HELP,
  async run(ctx) {
    const which = ctx.positionals[0];
    if (!which) throw new GatewayError('BAD_REQUEST', 'Name the key: onbehalf apikeys revoke ID_OR_NAME');
    const services = await openServices(configFromArgs(ctx), { migrate: true, say: ctx.err });
    try {
      if (!(await services.repos.apiKeys.revoke(which))) throw new GatewayError('NOT_FOUND', `No live API key with id or name "${which}".`);
      ctx.out(`Revoked API key "${which}".`);
      return 0;
    } finally {
      await services.close();
    }
  },
};

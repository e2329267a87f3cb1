import { CONFIG_OPTIONS, type Command } from '../command.js';

/** Commands whose work later issues build; they say so plainly and exit 2. */
export const notBuiltCommands: Command[] = [
  {
    name: ['links', 'list'],
    summary: 'List links between your users and Atlassian accounts.',
    usage: 'onbehalf links list [--user EXTERNAL_ID] [--account ID] [--site SITE]',
    options: { ...CONFIG_OPTIONS, user: { type: 'string' }, account: { type: 'string' }, site: { type: 'string' } },
    notBuiltYet: 'Account linking is not built yet (it comes with identity linking).',
  },
  {
    name: ['token'],
    summary: 'Print a valid access token for a user on a site (for scripts and debugging).',
    usage: 'onbehalf token --site SITE (--user EXTERNAL_ID | --account ID) [--scope S ...]',
    options: { ...CONFIG_OPTIONS, site: { type: 'string' }, user: { type: 'string' }, account: { type: 'string' }, scope: { type: 'string', multiple: true } },
    notBuiltYet: 'The token broker is not built yet (it comes with the Connect route).',
  },
  {
    name: ['tenants', 'purge'],
    summary: 'Delete the data of uninstalled tenants whose retention has passed.',
    usage: 'onbehalf tenants purge [--dry-run]',
    options: { ...CONFIG_OPTIONS, 'dry-run': { type: 'boolean' } },
    notBuiltYet: 'Tenant lifecycle is not built yet (it comes with the Connect route).',
  },
];

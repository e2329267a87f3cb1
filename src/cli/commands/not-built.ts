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
];

import { createStore } from '../../store/create-store.js';
import { CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, type Command } from '../command.js';
import { configFromArgs } from '../config-from-args.js';

export const migrateCommand: Command = {
  name: ['migrate'],
  summary: 'Create or upgrade the database schema (forward-only); --status only reports.',
  usage: 'onbehalf migrate [--status] [flags]',
  options: { ...CONFIG_OPTIONS, status: { type: 'boolean' } },
  help: `  --status               list applied and pending migrations, change nothing\n${CONFIG_OPTIONS_HELP}`,
  async run(ctx) {
    const config = configFromArgs(ctx);
    // Migrations need no keys: the schema holds no secrets, so this works before keys are set up.
    const store = createStore(config.database);
    try {
      if (ctx.values['status'] === true) {
        const s = await store.migrationStatus();
        ctx.out(`${store.description}`);
        for (const name of s.applied) ctx.out(`  applied  ${name}`);
        for (const name of s.pending) ctx.out(`  pending  ${name}`);
        for (const name of s.unknown) ctx.out(`  unknown  ${name} (applied by a newer onbehalf)`);
        return s.pending.length === 0 && s.unknown.length === 0 ? 0 : 1;
      }
      const report = await store.migrate();
      if (report.applied.length === 0) ctx.out(`${store.description}: schema is current (${report.current.length} migration(s)).`);
      else ctx.out(`${store.description}: applied ${report.applied.join(', ')}.`);
      return 0;
    } finally {
      await store.close();
    }
  },
};

import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import type { Config } from '../../config.js';
import { isGatewayError } from '../../errors.js';
import { systemClock } from '../../clock.js';
import { createStore } from '../../store/create-store.js';
import { createRepositories } from '../../store/repositories.js';
import { siteRouteLines } from './doctor-sites.js';
import { keyFileLooseBits, loadKeyring } from '../../store/keyring.js';
import { secretsByKey, unopenableSecrets } from '../../store/rotate-secrets.js';
import { createSecretBox } from '../../store/secret-box.js';
import { CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, SERVER_OPTIONS, type Command } from '../command.js';
import { configFromArgs } from '../config-from-args.js';

type Verdict = 'ok' | 'warn' | 'fail';

export const doctorCommand: Command = {
  name: ['doctor'],
  summary: 'Check the runtime, configuration, keys and store, which routes each site has, and say what to fix.',
  usage: 'onbehalf doctor [flags]',
  options: { ...SERVER_OPTIONS, ...CONFIG_OPTIONS },
  help: CONFIG_OPTIONS_HELP,
  async run(ctx) {
    let failed = false;
    const say = (v: Verdict, what: string) => {
      if (v === 'fail') failed = true;
      ctx.out(`${v === 'ok' ? ' ok ' : v === 'warn' ? 'warn' : 'FAIL'}  ${what}`);
    };

    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    say(major > 20 || (major === 20 && minor >= 10) ? 'ok' : 'fail', `Node.js ${process.versions.node} (needs 20.10 or later)`);

    let config: Config;
    try {
      config = configFromArgs(ctx);
      say('ok', `configuration (${config.embedded ? 'embedded SQLite' : 'PostgreSQL'}, base URL ${config.server.baseUrl})`);
    } catch (e) {
      say('fail', isGatewayError(e) ? e.message : String(e));
      return 1;
    }
    if (!config.server.baseUrl.startsWith('https://')) say('warn', 'the base URL is not https://; real Atlassian sites only talk to https apps (fine for the sandbox)');

    if (config.embedded) {
      try {
        mkdirSync(config.dataDir, { recursive: true });
        accessSync(config.dataDir, constants.W_OK);
        say('ok', `data folder ${config.dataDir} is writable`);
      } catch {
        say('fail', `data folder ${config.dataDir} is not writable; fix its permissions or set ONBEHALF_DATA_DIR`);
      }
    }

    let keyIds: string[] = [];
    let box: ReturnType<typeof createSecretBox> | undefined;
    if (config.keys.source === 'file' && !existsSync(config.keys.path)) {
      say(config.keys.generateIfMissing ? 'warn' : 'fail', `no key file at ${config.keys.path}${config.keys.generateIfMissing ? ' (it will be generated on first start)' : '; create one with onbehalf keys init'}`);
    } else {
      try {
        const loaded = loadKeyring({ ...config.keys, ...(config.keys.source === 'file' ? { generateIfMissing: false } : {}) } as Config['keys']);
        keyIds = [...loaded.keyring.keys.keys()];
        box = createSecretBox(loaded.keyring);
        say('ok', `master keys: ${keyIds.join(', ')} (active ${loaded.keyring.activeKeyId})${loaded.file ? ` from ${loaded.file}` : ' from ONBEHALF_MASTER_KEYS'}`);
        if (loaded.file && keyFileLooseBits(loaded.file) !== 0) say('warn', `${loaded.file} is readable by other users; run: chmod 600 ${loaded.file}`);
      } catch (e) {
        say('fail', isGatewayError(e) ? e.message : String(e));
      }
    }

    const store = createStore(config.database);
    try {
      await store.ping();
      say('ok', `store reachable: ${store.description}`);
      const status = await store.migrationStatus();
      if (status.unknown.length > 0) say('fail', `the schema was migrated by a newer onbehalf (${status.unknown.join(', ')}); upgrade this one`);
      else if (status.pending.length > 0) say('warn', `pending migrations: ${status.pending.join(', ')} (applied on start, or run onbehalf migrate)`);
      else say('ok', `schema current (${status.applied.length} migration(s))`);
      if (keyIds.length > 0 && status.applied.length > 0) {
        const unreadable = (await secretsByKey(store, keyIds)).filter((c) => c.keyId === '(unknown key)').reduce((a, c) => a + c.count, 0);
        say(unreadable === 0 ? 'ok' : 'fail', unreadable === 0 ? 'every stored secret is under a configured key' : `${unreadable} stored secret(s) are under a key that is not configured`);
      }
      if (box && status.applied.length > 0) {
        // Key ids can match while the bytes differ (a keyring from another deployment, a bad restore).
        const failures = await unopenableSecrets(store, box);
        const n = failures.reduce((a, f) => a + f.count, 0);
        say(
          n === 0 ? 'ok' : 'fail',
          n === 0
            ? 'every stored secret opens with the configured keys'
            : `${n} stored secret(s) do not open with the configured keys (wrong key material or damaged rows): ${failures.map((f) => `${f.column} ${f.count} (e.g. id ${f.sampleIds.join(', ')})`).join('; ')}`,
        );
      }
      // Which routes each site has and what is missing: only on a current schema whose secrets open.
      if (box && status.applied.length > 0 && status.pending.length === 0 && status.unknown.length === 0 && !failed) {
        const repos = createRepositories({ store, box, clock: systemClock });
        for (const line of await siteRouteLines(repos, config, systemClock.now())) say(line.verdict, line.text);
      }
    } catch (e) {
      say('fail', isGatewayError(e) ? e.message : `store: ${String(e)}`);
    } finally {
      await store.close();
    }
    return failed ? 1 : 0;
  },
};

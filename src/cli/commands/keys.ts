import { existsSync } from 'node:fs';
import { GatewayError } from '../../errors.js';
import { systemClock } from '../../clock.js';
import { createStore } from '../../store/create-store.js';
import { createEmailIndexRepo } from '../../store/email-index-repo.js';
import { createKeyFile, loadKeyring, newKey, nextKeyId, readKeyFile, writeKeyFile } from '../../store/keyring.js';
import { rotateSecrets, secretsByKey } from '../../store/rotate-secrets.js';
import { createSecretBox } from '../../store/secret-box.js';
import { CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, type Command } from '../command.js';
import { configFromArgs } from '../config-from-args.js';

export const keysInitCommand: Command = {
  name: ['keys', 'init'],
  summary: 'Create a keyring file with one new master key (for PostgreSQL deployments).',
  usage: 'onbehalf keys init [--key-file FILE]',
  options: { ...CONFIG_OPTIONS },
  help: CONFIG_OPTIONS_HELP,
  async run(ctx) {
    const config = configFromArgs(ctx);
    if (config.keys.source !== 'file') throw new GatewayError('BAD_REQUEST', 'Keys come from ONBEHALF_MASTER_KEYS; there is no key file to create.');
    const path = config.keys.path;
    const exists = () => new GatewayError('CONFLICT', `${path} already exists; it was left as it is.`);
    if (existsSync(path)) throw exists();
    if (!createKeyFile(path, { version: 1, active: 'k1', keys: [newKey('k1', new Date())] })) throw exists();
    ctx.out(`Created ${config.keys.path} (mode 0600) with master key k1. Give every gateway instance this same file, and back it up.`);
    return 0;
  },
};

export const keysStatusCommand: Command = {
  name: ['keys', 'status'],
  summary: 'Show the master keys and how many stored secrets each one protects.',
  usage: 'onbehalf keys status [flags]',
  options: { ...CONFIG_OPTIONS },
  help: CONFIG_OPTIONS_HELP,
  async run(ctx) {
    const config = configFromArgs(ctx);
    const { keyring } = loadKeyring(config.keys);
    const store = createStore(config.database);
    try {
      const counts = await secretsByKey(store, [...keyring.keys.keys()]);
      const hashes = await createEmailIndexRepo({ store, clock: systemClock }).countByKey();
      ctx.out(`active key: ${keyring.activeKeyId}`);
      for (const id of keyring.keys.keys()) {
        const n = counts.filter((c) => c.keyId === id).reduce((a, c) => a + c.count, 0);
        const h = hashes.find((c) => c.keyId === id)?.count ?? 0;
        ctx.out(`  ${id === keyring.activeKeyId ? '*' : ' '} ${id}  ${n} secret(s)${h > 0 ? `, ${h} email hash(es)` : ''}`);
      }
      const staleHashes = hashes.filter((c) => c.keyId !== keyring.activeKeyId).reduce((a, c) => a + c.count, 0);
      if (staleHashes > 0) ctx.out(`${staleHashes} email hash(es) of the Forge email index are under older keys: they still match, and each site's next index pass re-hashes them under the active key.`);
      const unknown = counts.filter((c) => c.keyId === '(unknown key)').reduce((a, c) => a + c.count, 0);
      if (unknown > 0) ctx.out(`  ! ${unknown} secret(s) under a key that is not configured: they cannot be read.`);
      const behind = counts.filter((c) => c.keyId !== keyring.activeKeyId).reduce((a, c) => a + c.count, 0);
      if (behind > 0) ctx.out(`${behind} secret(s) are not under the active key; run: onbehalf keys rotate --resume`);
      return unknown > 0 ? 1 : 0;
    } finally {
      await store.close();
    }
  },
};

export const keysRotateCommand: Command = {
  name: ['keys', 'rotate'],
  summary: 'Add a new master key and re-encrypt every stored secret under it (resumable).',
  usage: 'onbehalf keys rotate [--resume] [flags]',
  options: { ...CONFIG_OPTIONS, resume: { type: 'boolean' } },
  help: `  --resume               finish an interrupted rotation: re-encrypt what is left, add no new key
${CONFIG_OPTIONS_HELP}

With a key file, a new key is added and made active first (the old keys stay, so everything remains
readable at every moment), then each secret is re-encrypted in small committed batches. Interrupted?
Run again with --resume. With ONBEHALF_MASTER_KEYS, put the new key first in the list yourself, then run
this command to move every secret to it.`,
  async run(ctx) {
    const config = configFromArgs(ctx);
    const resume = ctx.values['resume'] === true;
    if (config.keys.source === 'file' && !resume) {
      const file = readKeyFile(config.keys.path);
      const id = nextKeyId(file);
      writeKeyFile(config.keys.path, { ...file, active: id, keys: [...file.keys, newKey(id, new Date())] });
      ctx.out(`Added master key ${id} to ${config.keys.path} and made it active.`);
    }
    const { keyring } = loadKeyring(config.keys);
    const box = createSecretBox(keyring);
    const store = createStore(config.database);
    try {
      let done = 0;
      const result = await rotateSecrets(store, box, {
        onBatch: (p) => {
          done += p.reencrypted;
          if (p.reencrypted > 0) ctx.out(`  ${p.column}: +${p.reencrypted} (total ${done})`);
        },
      });
      ctx.out(`Re-encrypted ${result.reencrypted} secret(s); every stored secret is now under key ${keyring.activeKeyId}.`);
      ctx.out('Restart running gateway instances so they load the new key.');
      return 0;
    } finally {
      await store.close();
    }
  },
};

export const keysRetireCommand: Command = {
  name: ['keys', 'retire'],
  summary: 'Remove an old master key from the key file once no stored secret (or email hash) uses it.',
  usage: 'onbehalf keys retire KEY_ID [--drop-email-hashes] [flags]',
  options: { ...CONFIG_OPTIONS, 'drop-email-hashes': { type: 'boolean' } },
  help: `  --drop-email-hashes    delete the Forge email index entries hashed under this key instead of waiting
                         for each site's next index pass to re-hash them (until then those users
                         resolve as unknown)
${CONFIG_OPTIONS_HELP}`,
  async run(ctx) {
    const id = ctx.positionals[0];
    if (!id) throw new GatewayError('BAD_REQUEST', 'Name the key to retire: onbehalf keys retire KEY_ID');
    const config = configFromArgs(ctx);
    if (config.keys.source !== 'file') throw new GatewayError('BAD_REQUEST', 'Keys come from ONBEHALF_MASTER_KEYS: remove the key from that variable instead.');
    const file = readKeyFile(config.keys.path);
    if (file.active === id) throw new GatewayError('CONFLICT', `Key ${id} is the active key; rotate to a new key first.`);
    if (!file.keys.some((k) => k.id === id)) throw new GatewayError('NOT_FOUND', `There is no key ${id} in ${config.keys.path}.`);
    const store = createStore(config.database);
    try {
      const inUse = (await secretsByKey(store, [id])).filter((c) => c.keyId === id).reduce((a, c) => a + c.count, 0);
      if (inUse > 0) throw new GatewayError('CONFLICT', `Key ${id} still protects ${inUse} secret(s); run onbehalf keys rotate --resume first.`);
      // Email hashes cannot be re-made from the database (it holds no email): the index re-hashes them as it
      // refreshes each site. Retiring the key first would silently stop those users from resolving.
      const index = createEmailIndexRepo({ store, clock: systemClock });
      const hashes = (await index.countByKey()).find((c) => c.keyId === id)?.count ?? 0;
      if (hashes > 0 && ctx.values['drop-email-hashes'] !== true) {
        throw new GatewayError('CONFLICT', `Key ${id} still made ${hashes} email hash(es) of the Forge email index; each site's next index pass re-hashes them under the active key. Wait for that, or run again with --drop-email-hashes (those users resolve as unknown until the pass re-adds them).`);
      }
      if (hashes > 0) ctx.out(`Dropped ${await index.deleteForKey(id)} email hash(es) made under key ${id}.`);
    } finally {
      await store.close();
    }
    writeKeyFile(config.keys.path, { ...file, keys: file.keys.filter((k) => k.id !== id) });
    ctx.out(`Removed key ${id} from ${config.keys.path}.`);
    return 0;
  },
};

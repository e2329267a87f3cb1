import { systemClock } from '../clock.js';
import type { Config } from '../config.js';
import { createStore, type Store } from '../store/create-store.js';
import { loadKeyring, type LoadedKeyring } from '../store/keyring.js';
import { createRepositories, type Repositories } from '../store/repositories.js';
import { createSecretBox, type SecretBox } from '../store/secret-box.js';

export interface Services {
  store: Store;
  box: SecretBox;
  repos: Repositories;
  keys: LoadedKeyring;
  close(): Promise<void>;
}

/** Store, keys and repositories without the HTTP app: what the CLI's data commands work on. */
export async function openServices(config: Config, options: { migrate: boolean; say?: (line: string) => void }): Promise<Services> {
  const keys = loadKeyring(config.keys);
  if (keys.generatedFile) options.say?.(`Generated a new master key file at ${keys.generatedFile} (mode 0600). Keep a copy with your backups.`);
  const box = createSecretBox(keys.keyring);
  const store = createStore(config.database);
  try {
    if (options.migrate) await store.migrate();
  } catch (e) {
    await store.close();
    throw e;
  }
  return { store, box, keys, repos: createRepositories({ store, box, clock: systemClock }), close: () => store.close() };
}

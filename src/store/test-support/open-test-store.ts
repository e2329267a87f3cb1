import { randomBytes } from 'node:crypto';
import { createManualClock, type ManualClock } from '../../clock.js';
import { createStore, type Store } from '../create-store.js';
import { createRepositories, type Repositories } from '../repositories.js';
import { createSecretBox, type Keyring, type SecretBox } from '../secret-box.js';
import type { TestBackend } from './backends.js';

export interface TestStore {
  store: Store;
  box: SecretBox;
  repos: Repositories;
  clock: ManualClock;
  keyring: Keyring;
  config: Awaited<ReturnType<TestBackend['create']>>['config'];
  close(): Promise<void>;
}

export function testKeyring(ids: readonly string[] = ['k1']): Keyring {
  return { activeKeyId: ids[0] ?? 'k1', keys: new Map(ids.map((id) => [id, randomBytes(32)])) };
}

/** A migrated store on a fresh database of the given backend; close() also removes the database. */
export async function openTestStore(backend: TestBackend, keyring: Keyring = testKeyring()): Promise<TestStore> {
  const place = await backend.create();
  const store = createStore(place.config);
  await store.migrate();
  const clock = createManualClock(Date.UTC(2026, 10, 1));
  const box = createSecretBox(keyring);
  return {
    store,
    box,
    clock,
    keyring,
    config: place.config,
    repos: createRepositories({ store, box, clock }),
    async close() {
      await store.close();
      await place.cleanup();
    },
  };
}

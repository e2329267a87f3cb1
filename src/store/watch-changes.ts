import type { DatabaseConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Store } from './create-store.js';
import { listenForChanges } from './pg-change-listener.js';
import { pollForChanges } from './sqlite-change-poller.js';
import type { ChangeWatcher, WatchOptions } from './watch-options.js';

export type { ChangeWatcher, WatchOptions } from './watch-options.js';

/**
 * Starts following other processes' writes into `store.changes`, so the hot reads can keep what they read
 * for longer than their 1 s TTL while the watcher vouches that nothing committed was missed: LISTEN/NOTIFY
 * on PostgreSQL, PRAGMA data_version on SQLite. Does not wait for the first proof (`ready`): until then
 * the hot reads simply use their TTL.
 */
export function watchChanges(store: Store, database: DatabaseConfig, options: WatchOptions & { logger?: Logger }): ChangeWatcher {
  if (database.kind === 'postgres') return listenForChanges(store.changes, { url: database.url, schema: database.schema }, options);
  return pollForChanges(store, options);
}

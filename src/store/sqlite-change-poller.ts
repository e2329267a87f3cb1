import { sql } from 'kysely';
import type { Store } from './create-store.js';
import type { ChangeWatcher, WatchOptions } from './watch-options.js';

/**
 * Follows other processes' writes on SQLite (the CLI beside the one gateway process): `PRAGMA
 * data_version` changes whenever another connection commits to the file, and never for this connection's
 * own writes (those are published in process). Polled every `pingIntervalMs` (250 ms, a few microseconds
 * each): unchanged proves nothing was committed elsewhere since the previous poll, so the feed is
 * confirmed up to this poll's start; changed, and everything remembered is dropped (the version says that
 * something changed, not what; other writers are rare, the CLI). A poll that fails or is late (a stalled
 * event loop) simply stops confirming, and the hot reads fall back to their 1 s TTL.
 */
export function pollForChanges(store: Store, options: WatchOptions): ChangeWatcher {
  const every = options.pingIntervalMs ?? 250;
  let state: ChangeWatcher['state'] = 'starting';
  let last: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  async function poll(): Promise<void> {
    const startedAt = options.now();
    try {
      const r = await sql<{ data_version: number | bigint }>`pragma data_version`.execute(store.db);
      const version = Number(r.rows[0]?.data_version);
      if (stopped) return;
      // The first poll is the baseline: anything read before it may predate a change it cannot see.
      if (version !== last) store.changes.publish({ kind: 'all' });
      last = version;
      store.changes.confirm(startedAt);
      state = 'listening';
    } catch {
      store.changes.unconfirm();
      if (!stopped) state = 'down';
    }
  }
  const loop = async (): Promise<void> => {
    await poll();
    if (!stopped) {
      timer = setTimeout(() => void loop(), every);
      timer.unref();
    }
  };
  const ready = loop();

  return {
    get state() {
      return state;
    },
    ready,
    async close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      store.changes.unconfirm();
      state = 'stopped';
    },
  };
}

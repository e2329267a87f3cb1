/** A watcher of other processes' writes, feeding a store's change feed (see watch-changes.ts). */
export interface ChangeWatcher {
  /** `listening`: vouching for every committed change; `down`: not (hot reads use their TTL); `off`: nothing to watch. */
  readonly state: 'starting' | 'listening' | 'down' | 'stopped' | 'off';
  /** Settles once the watcher first vouches (never, while the database stays unreachable). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface WatchOptions {
  /** Monotonic milliseconds: the clock the hot reads check `confirmedAt` against. */
  now: () => number;
  /** How often the watcher proves it missed nothing (PostgreSQL: a self-addressed NOTIFY; SQLite: a data_version poll). Default 250 ms, a quarter of the 1 s bound. */
  pingIntervalMs?: number;
  /** PostgreSQL: a ping unanswered this long ends the connection (default 5 s). */
  overdueMs?: number;
  /** PostgreSQL: waits between reconnection attempts (tests decide when a dropped listener may come back). */
  sleep?: (ms: number) => Promise<void>;
}

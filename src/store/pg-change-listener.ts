import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { parseChangePayload, type ChangeFeed } from './change-feed.js';
import type { ChangeWatcher, WatchOptions } from './watch-options.js';

/** The channel the 0005 migration's trigger notifies for tables in `schema` (md5 keeps it a short identifier). */
export function changeChannel(schema: string): string {
  return `onbehalf_changes_${createHash('md5').update(schema, 'utf8').digest('hex')}`;
}

/**
 * Follows other processes' writes on PostgreSQL: LISTEN on a connection of its own (not from the pool, so
 * it never holds a pooled connection and a busy pool never delays it), each notification handed to the
 * change feed. To vouch that nothing is missed it pings itself every `pingIntervalMs`: a NOTIFY on a
 * channel only it listens to. PostgreSQL delivers notifications in commit order, so when the ping comes
 * back every change committed before it was sent has been delivered: `feed.confirm(sentAt)`. A dropped
 * connection, an error or a ping unanswered for `overdueMs` ends the connection; the feed stops vouching at
 * once (the hot reads fall back to their 1 s TTL) and the listener reconnects with backoff (100 ms doubling
 * to 5 s), then drops everything remembered (changes during the gap were not heard) and vouches again.
 */
export function listenForChanges(feed: ChangeFeed, config: { url: string; schema: string }, options: WatchOptions & { logger?: Logger }): ChangeWatcher {
  const now = options.now;
  const pingEvery = options.pingIntervalMs ?? 250;
  const overdueMs = options.overdueMs ?? Math.max(5_000, pingEvery * 4);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
  const channel = changeChannel(config.schema);
  const pingChannel = `onbehalf_ping_${randomBytes(8).toString('hex')}`;
  let state: ChangeWatcher['state'] = 'starting';
  let stopped = false;
  /** Whether the session that just ended had been listening (then the backoff starts over). */
  let listened = false;
  let current: pg.Client | undefined;
  let wake: (() => void) | undefined;
  let firstListen: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    firstListen = resolve;
  });

  async function session(): Promise<void> {
    const client = new pg.Client({ connectionString: config.url, application_name: 'onbehalf-changes', keepAlive: true });
    current = client;
    let broken: Error | undefined;
    const fail = (e: Error) => {
      broken ??= e;
      wake?.();
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('connection ended')));
    const pings = new Map<number, number>();
    let seq = 0;
    client.on('notification', (n) => {
      if (n.channel === pingChannel) {
        const sentAt = pings.get(Number(n.payload));
        if (sentAt === undefined) return;
        for (const s of pings.keys()) if (s <= Number(n.payload)) pings.delete(s);
        feed.confirm(sentAt);
        return;
      }
      if (n.channel !== channel) return;
      // An unreadable payload (a newer version's kind) cannot be matched to keys: drop everything.
      feed.publish(parseChangePayload(n.payload ?? '') ?? { kind: 'all' });
    });
    try {
      await client.connect();
      const listenedAt = now();
      await client.query(`LISTEN "${channel}"; LISTEN "${pingChannel}"`);
      if (broken) throw broken;
      // Changes made while nobody listened were not heard: whatever is remembered may be stale.
      feed.publish({ kind: 'all' });
      feed.confirm(listenedAt);
      if (state === 'down') options.logger?.info('change listener reconnected to PostgreSQL; other instances\u2019 changes apply at once again');
      state = 'listening';
      listened = true;
      firstListen();
      while (!stopped && !broken) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, pingEvery).unref();
        });
        wake = undefined;
        if (stopped || broken) break;
        const oldest = pings.values().next().value;
        if (oldest !== undefined && now() - oldest > overdueMs) throw new Error(`no answer to a ping for ${overdueMs} ms`);
        const n = ++seq;
        pings.set(n, now());
        // Not awaited: a ping stuck on a half-open connection must not stop the overdue check above.
        client.query(`NOTIFY "${pingChannel}", '${n}'`).catch(fail);
      }
      if (broken && !stopped) throw broken;
    } finally {
      feed.unconfirm();
      current = undefined;
      client.removeAllListeners('notification');
      // Keep an error listener: a late socket error on a client being ended must not crash the process.
      client.end().catch(() => undefined);
    }
  }

  void (async () => {
    let attempt = 0;
    while (!stopped) {
      try {
        await session();
      } catch (e) {
        if (stopped) break;
        if (listened) attempt = 0;
        listened = false;
        if (state !== 'down') {
          options.logger?.warn(
            { err: e instanceof Error ? e.message : String(e) },
            'change listener lost PostgreSQL; until it reconnects, other instances\u2019 changes apply within the 1 s TTL of the hot reads',
          );
        }
        state = 'down';
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(attempt++, 6)));
      }
    }
    state = 'stopped';
  })();

  return {
    get state() {
      return state;
    },
    ready,
    async close() {
      stopped = true;
      feed.unconfirm();
      wake?.();
      await current?.end().catch(() => undefined);
      state = 'stopped';
    },
  };
}

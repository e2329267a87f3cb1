import type { Clock } from '../clock.js';
import type { Store } from './create-store.js';

export interface WebhookReplaysRepo {
  /**
   * Records a delivery's replay key until `expiresAt`; true the first time, false for a replay (the key is
   * already recorded and not yet expired). One statement, so two instances receiving the same delivery at
   * once cannot both see it as new.
   */
  firstSeen(replayKey: string, expiresAt: number): Promise<boolean>;
  /** Drops keys whose token has expired (their tokens are refused anyway); returns how many. */
  deleteExpired(): Promise<number>;
}

export function createWebhookReplaysRepo(deps: { store: Store; clock: Clock }): WebhookReplaysRepo {
  const { db } = deps.store;
  return {
    async firstSeen(replayKey, expiresAt) {
      const now = deps.clock.now();
      const row = await db
        .insertInto('webhook_replays')
        .values({ replay_key: replayKey, expires_at: expiresAt })
        // An expired row may be taken over: the token it came from can no longer be verified anyway.
        .onConflict((oc) => oc.column('replay_key').doUpdateSet({ expires_at: expiresAt }).where('webhook_replays.expires_at', '<=', now))
        .returning('replay_key')
        .executeTakeFirst();
      return row !== undefined;
    },
    async deleteExpired() {
      const r = await db.deleteFrom('webhook_replays').where('expires_at', '<=', deps.clock.now()).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

import { sql } from 'kysely';
import type { Store } from './create-store.js';

export type ForgeBudgetTake = { ok: true } | { ok: false; freeAt: number };

const WINDOW_MS = 60_000;

/**
 * Spends one unit of an app's per-minute offline-token budget shared by every instance on one PostgreSQL
 * database, or says when the next unit frees up.
 *
 * The budget is `perMinute` slot rows per app; a slot spent at `t` can be spent again from `t + 60 s`, so
 * no sliding minute ever holds more than `perMinute` exchanges, across every instance. Spending is one
 * UPDATE that picks the least recently spent free slot with `FOR UPDATE SKIP LOCKED`: concurrent callers
 * take different slots without waiting on each other's row locks, and the recheck PostgreSQL does on a
 * locked row keeps two callers off one slot. Nothing is held between statements: a caller over budget
 * waits in memory, never on a connection or a lock.
 *
 * Why not the alternatives: a counter per fixed minute lets 2 x `perMinute` through around a minute's edge
 * (Atlassian's window is not documented, so only a sliding minute is safe); a log of grants counted then
 * appended races between instances unless serialised by a lock (an advisory lock held while counting keeps
 * a connection per waiter); a token bucket (GCRA) that allows a cold burst of `perMinute` also allows
 * almost twice that within the following minute.
 *
 * Instances compare times on their own clocks (as the refresh lease does); they must agree within seconds.
 */
export async function takeForgeBudgetSlot(store: Store, appKey: string, perMinute: number, now: number): Promise<ForgeBudgetTake> {
  const taken = await sql<{ slot: number }>`
    update forge_budget_slots set used_at = ${now}
    where app_key = ${appKey} and used_at <= ${now - WINDOW_MS} and slot = (
      select slot from forge_budget_slots
      where app_key = ${appKey} and slot < ${perMinute} and used_at <= ${now - WINDOW_MS}
      order by used_at, slot limit 1
      for update skip locked)
    returning slot`.execute(store.db);
  if (taken.rows.length === 1) return { ok: true };
  const oldest = await store.db
    .selectFrom('forge_budget_slots')
    .select((eb) => eb.fn.min<number | string | null>('used_at').as('oldest'))
    .where('app_key', '=', appKey)
    .where('slot', '<', perMinute)
    .executeTakeFirst();
  const at = oldest?.oldest === null || oldest?.oldest === undefined ? now : Number(oldest.oldest);
  // A slot locked by a caller in flight, or rows not made yet, read as "free soon": the caller tries again.
  return { ok: false, freeAt: Math.max(at + WINDOW_MS, now + 1) };
}

/** Makes the app's `perMinute` slots (never spent) if missing; idempotent, and a larger budget adds slots. */
export async function ensureForgeBudgetSlots(store: Store, appKey: string, perMinute: number): Promise<void> {
  await sql`
    insert into forge_budget_slots (app_key, slot, used_at)
    select ${appKey}, g, 0 from generate_series(0, ${perMinute - 1}) as g
    on conflict do nothing`.execute(store.db);
}

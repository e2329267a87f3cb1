/**
 * bench/broker, the Forge route (issue 17), beside the Connect route on the same in-process sandbox site (and, in
 * (f-d), a Connect site against a site with only the Forge app):
 *   (f-a) a cold burst of 100 users x 50 concurrent calls through the Forge token broker costs exactly 100
 *         offline-token grants at the sandbox (one per user): counted, printed, and checked (it throws if not);
 *   (f-b) warm token lookups, Connect broker and Forge broker side by side in the same rounds;
 *   (f-c) warm `tokenFor` through the gateway (link look-up, policy, broker), users linked through Connect
 *         against users linked through Forge, side by side.
 * Warm figures are median rounds of a balanced order (measure.ts) with the CPU per call; the Forge route
 * should cost no more than Connect's (the same cache design). Prints figures; never passes or fails on time.
 * Run with bench/broker (npm run bench:broker), or alone: npx tsx bench/forge-route.ts
 */
import { performance } from 'node:perf_hooks';
import { createApiWorld } from '../test/api/support/api-world.js';
import { exampleForgeManifest, EXAMPLE_APP_ID } from '../src/sandbox/forge/example-manifest.js';
import { GATEWAY_ORIGIN } from '../test/api/support/api-world.js';
import { cpuMicros, fmt, quantile, roundOrder } from './measure.js';

const USERS = 100;
const CALLS_PER_USER = 50;
const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) || 15);
const PER_ROUND = 100_000;

export async function forgeRouteBench(): Promise<void> {
  const w = await createApiWorld({ ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID, ONBEHALF_LOG_LEVEL: 'silent' });
  try {
    const installed = await w.sandbox.forge.install('acme', { manifest: exampleForgeManifest({ baseUrl: GATEWAY_ORIGIN }) });
    if (!installed.ok) throw new Error(`Forge install failed: ${JSON.stringify(installed)}`);
    await w.settle();
    const forge = w.gateway.forge;
    if (!forge) throw new Error('the Forge route is off');
    const repos = w.gateway.repos;
    const forgeTenant = await repos.tenants.find('forge', EXAMPLE_APP_ID, installed.value.installationId);
    const connectTenant = (await repos.tenants.list()).find((t) => t.route === 'connect');
    if (!forgeTenant || !connectTenant) throw new Error('missing tenants');
    const users = Array.from({ length: 2 * USERS }, (_, i) =>
      w.sandbox.control.addUser({ accountId: `712020:forge-bench-${String(i).padStart(4, '0')}`, displayName: `Forge Bench ${i}`, email: `fbench${i}@acme.example`, emailVisible: false }).accountId,
    );
    const forgeUsers = users.slice(0, USERS);
    const connectUsers = users.slice(USERS);

    // (f-a) cold burst through the Forge broker.
    const grants = () => w.sandbox.control.counters.total('offline_token_grant');
    const before = grants();
    const t0 = performance.now();
    await Promise.all(forgeUsers.flatMap((accountId) => Array.from({ length: CALLS_PER_USER }, () => forge.broker.tokenFor({ tenant: forgeTenant, accountId }))));
    const coldMs = performance.now() - t0;
    const spent = grants() - before;
    console.log(`(f-a) Forge cold burst: ${USERS} users x ${CALLS_PER_USER} concurrent calls = ${fmt(USERS * CALLS_PER_USER)} calls -> ${spent} offline-token grants at the sandbox (expected exactly ${USERS}) in ${coldMs.toFixed(0)} ms`);
    if (spent !== USERS) throw new Error(`(f-a) expected exactly ${USERS} offline-token grants, the sandbox counted ${spent}`);
    await Promise.all(connectUsers.map((accountId) => w.gateway.connect.broker.tokenFor({ tenant: connectTenant, accountId })));

    // (f-b) warm lookups at the broker, the two routes in the same rounds.
    const broker = {
      connect: (i: number) => w.gateway.connect.broker.tokenFor({ tenant: connectTenant, accountId: connectUsers[i % USERS] as string }),
      forge: (i: number) => forge.broker.tokenFor({ tenant: forgeTenant, accountId: forgeUsers[i % USERS] as string }),
    };
    await sideBySide(`(f-b) warm broker lookups, ${USERS} users in rotation`, broker, PER_ROUND);

    // (f-c) warm tokenFor through the gateway: each user linked through its route.
    for (const [i, accountId] of forgeUsers.entries()) await repos.links.create({ externalUserId: `f-${i}`, cloudId: w.cloudId, accountId, route: 'forge', scopes: [], status: 'linked', evidence: {}, tenantId: forgeTenant.id });
    for (const [i, accountId] of connectUsers.entries()) await repos.links.create({ externalUserId: `c-${i}`, cloudId: w.cloudId, accountId, route: 'connect', scopes: [], status: 'linked', evidence: {}, tenantId: connectTenant.id });
    const acting = {
      connect: (i: number) => w.gateway.tokenFor({ site: 'acme', externalUserId: `c-${i % USERS}` }),
      forge: (i: number) => w.gateway.tokenFor({ site: 'acme', externalUserId: `f-${i % USERS}` }),
    };
    const route = (await acting.forge(0)).route;
    if (route !== 'forge' || (await acting.connect(0)).route !== 'connect') throw new Error('(f-c) a call went through the wrong route');
    await sideBySide(`(f-c) warm gateway.tokenFor (link, policy, broker), ${USERS} linked users per route`, acting, PER_ROUND / 20);
    const after = grants() - before;
    console.log(`      offline-token grants after the warm runs: ${after} (no new grant while tokens are fresh)`);

    // (f-d) the same on sites with one install each, as a new site is: acme through Connect against globex,
    // which has only the Forge app (on acme above, the Forge link also looks up the second install).
    const globex = await w.sandbox.forge.install('globex', { manifest: exampleForgeManifest({ baseUrl: GATEWAY_ORIGIN }) });
    if (!globex.ok) throw new Error(`Forge install on globex failed: ${JSON.stringify(globex)}`);
    await w.settle();
    const globexTenant = await repos.tenants.find('forge', EXAMPLE_APP_ID, globex.value.installationId);
    if (!globexTenant?.cloudId) throw new Error('missing the globex Forge tenant');
    for (const [i, accountId] of forgeUsers.entries()) await repos.links.create({ externalUserId: `g-${i}`, cloudId: globexTenant.cloudId, accountId, route: 'forge', scopes: [], status: 'linked', evidence: {}, tenantId: globexTenant.id });
    const single = {
      connect: (i: number) => w.gateway.tokenFor({ site: w.cloudId, externalUserId: `c-${i % USERS}` }),
      forge: (i: number) => w.gateway.tokenFor({ site: globexTenant.cloudId as string, externalUserId: `g-${i % USERS}` }),
    };
    if ((await single.forge(0)).route !== 'forge') throw new Error('(f-d) the globex call did not go through Forge');
    for (let i = 0; i < USERS; i++) await single.forge(i); // one offline-token grant per user on the new site, before timing
    await sideBySide(`(f-d) warm gateway.tokenFor, a Connect site against a Forge-only site (both named by cloud id)`, single, PER_ROUND / 20);
  } finally {
    await w.close();
  }
}

/** Connect and Forge in the same rounds, in a balanced order; median rate and CPU per call of each. */
async function sideBySide(title: string, ways: Record<'connect' | 'forge', (i: number) => Promise<unknown>>, n: number): Promise<void> {
  const names = ['connect', 'forge'] as const;
  const rates: Record<(typeof names)[number], number[]> = { connect: [], forge: [] };
  const cpu: Record<(typeof names)[number], number> = { connect: 0, forge: 0 };
  for (let round = -1; round < ROUNDS; round++) {
    for (const k of roundOrder(2, Math.max(round, 0))) {
      const name = names[k] as (typeof names)[number];
      const call = ways[name];
      const c0 = cpuMicros();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await call(i);
      const s = (performance.now() - t0) / 1000;
      if (round < 0) continue; // a warm-up round for each
      cpu[name] += cpuMicros() - c0;
      rates[name].push(n / s);
    }
  }
  const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);
  const perCall = (name: (typeof names)[number]) => cpu[name] / (ROUNDS * n);
  console.log(`${title}, ${ROUNDS} rounds of ${fmt(n)} per route:`);
  console.log(`      Connect: ${fmt(median(rates.connect))} per second (median round), ${perCall('connect').toFixed(2)} us CPU per call`);
  console.log(`      Forge:   ${fmt(median(rates.forge))} per second (median round), ${perCall('forge').toFixed(2)} us CPU per call`);
  console.log(`      Forge / Connect: ${((median(rates.forge) / median(rates.connect)) * 100).toFixed(1)}% of the rate, ${((perCall('forge') / perCall('connect')) * 100).toFixed(1)}% of the CPU per call`);
}

if (process.argv[1]?.endsWith('forge-route.ts')) await forgeRouteBench();

/**
 * bench/broker: the Connect token broker against the in-process sandbox.
 *   (a) 100 users x 50 concurrent cold calls each -> grants counted by the sandbox (target: 100, one per user)
 *   (b) warm-cache token lookups per second on one core (target >= 500,000/s)
 *   (c) impersonated GETs/s through asUser vs the same GETs with a token held by hand (target >= 95%):
 *       (c0) asUser's own CPU per call, over a transport that answers at once;
 *       (c1) in process, against the sandbox's app with no sockets (a worst case: the upstream costs almost
 *            nothing, so the client's own cost weighs most);
 *       (c2) the target's measure: the sandbox in its own process over loopback HTTP, as Confluence is
 *            reached over the network, against a token held by hand with the global fetch (the limit) and,
 *            to isolate asUser's own cost, with asUser's transport too;
 *       (c)  asUser's own cost side by side: in a tight loop from (c0), over sockets from (c2)'s app process.
 *       (c1) and (c2) run in many short rounds in a balanced order (measure.ts); a share is the median of
 *       the per-round ratios, with its spread, and the CPU time per GET of every process is counted too
 *       (less sensitive to other load than rates on this shared machine).
 *   (f) the Forge route beside Connect's (bench/forge-route.ts): a cold burst's offline-token grants, warm lookups.
 * Run: npm run bench:broker     (--rounds=N, default 15; --forge-only for (f) alone) Prints figures; never passes or fails on time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createConnectActAs } from '../src/broker/connect-act-as.js';
import { freePort } from '../src/cli/free-port.js';
import { loadConfig } from '../src/config.js';
import type { ActAsClient } from '../src/confluence/create-act-as-client.js';
import { createHttpFetch } from '../src/confluence/http-fetch.js';
import { createGateway } from '../src/gateway.js';
import { silentLogger } from '../src/logger.js';
import { DEFAULT_ACCOUNTS } from '../src/sandbox/index.js';
import { createMetrics } from '../src/server/metrics.js';
import type { Tenant } from '../src/store/tenants-repo.js';
import { createConnectWorld, type ConnectWorld } from '../test/support/connect-world.js';
import { cpuLine, cpuMicros, drive, fmt, interleave, pairedRatio, pct, roundOrder, spread, type ModeSummary } from './measure.js';
import { forgeRouteBench } from './forge-route.js';

const USERS = 100;
const CALLS_PER_USER = 50;


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

  const ownUs = await ownCost(w, tenant, users);

  // (c) GETs through asUser vs the same GETs with a token held by hand, interleaved rounds, same sandbox.
  const path = '/rest/api/user/current';
  const held = await Promise.all(users.map(async (accountId) => (await w.gateway.connect.broker.tokenFor({ tenant, accountId })).accessToken));
  const clients = users.map((accountId) => w.gateway.connect.actAs.asUser(tenant, accountId));
  const base = tenant.baseUrl;
  await compare({
    title: `(c1) in process (no sockets: the gateway's own overhead, worst case) GET ${path}, ${USERS} users`,
    perRound: 2_000,
    direct: (i) => w.fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${held[i % USERS]}` } }),
    asUser: (i) => (clients[i % USERS] as (typeof clients)[number]).fetch(path),
    processes: { main: undefined },
    target: '(a worst case, not the target\'s measure: see c2)',
  });
  await w.close();
  const sockets = await overHttp(path);
  // (c0) is a tight loop; over sockets the same code runs between socket reads and HTTP parsing and has
  // cost the app process several times more (docs/benchmarks.md). Both are printed.
  const appCpu = (m: ModeSummary) => m.cpu['main'] ?? 0;
  console.log(
    `(c) asUser's own cost: ${ownUs.toFixed(1)} us per call in a tight loop (c0); over loopback ${(appCpu(sockets.asUser) - appCpu(sockets.sameTransport)).toFixed(0)} us ` +
      `of the app process's CPU per GET (c2: ${appCpu(sockets.asUser).toFixed(0)} us through asUser, ${appCpu(sockets.sameTransport).toFixed(0)} us with a held token over the same transport)`,
  );
}

/**
 * (c0) asUser's own CPU per call, with nothing else in it: the gateway's broker and act-as code over a
 * transport that answers at once with a ready response, against the same transport called with a token
 * held by hand. The client is built like the gateway builds it (createConnectActAs, a metrics hook per
 * upstream call as the gateway's). Not `interleave`: its `drive` reads every body, and the instant
 * transport answers with one shared Response whose body can be read once.
 */
async function ownCost(w: ConnectWorld, tenant: Tenant, users: readonly string[]): Promise<number> {
  const answer = new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
  const instant = (async () => answer) as unknown as typeof fetch;
  const metrics = createMetrics();
  const actAs = createConnectActAs({
    fetch: instant,
    clock: w.sandbox.clock,
    broker: w.gateway.connect.broker,
    repos: w.gateway.repos,
    appKey: 'bench',
    allowInsecureHttp: true,
    refreshSkewMs: 60_000,
    onUpstreamCall: (info) => {
      metrics.upstreamRequests.inc({ kind: 'api', status: String(info.status) });
      metrics.upstreamDuration.observe({ kind: 'api' }, info.ms / 1000);
    },
  });
  const path = '/rest/api/user/current';
  const clients = users.map((accountId) => actAs.asUser(tenant, accountId));
  const held = await Promise.all(users.map(async (accountId) => `Bearer ${(await w.gateway.connect.broker.tokenFor({ tenant, accountId })).accessToken}`));
  const url = new URL(`${tenant.baseUrl}${path}`);
  const ways = {
    held: (i: number) => instant(url, { headers: { authorization: held[i % users.length] as string, accept: 'application/json' }, redirect: 'manual' }),
    asUser: (i: number) => (clients[i % users.length] as ActAsClient).fetch(path),
  };
  const n = 100_000;
  const cpu = { held: 0, asUser: 0 };
  for (let round = 0; round < 10; round++) {
    for (const k of roundOrder(2, round)) {
      const way = (['held', 'asUser'] as const)[k] as 'held' | 'asUser';
      const call = ways[way];
      const before = cpuMicros();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, lane) => {
          for (let i = lane; i < n; i += CONCURRENCY) await call(i);
        }),
      );
      if (round > 0) cpu[way] += cpuMicros() - before; // round 0 warms both up
    }
  }
  const perCall = { held: cpu.held / (9 * n), asUser: cpu.asUser / (9 * n) };
  const own = perCall.asUser - perCall.held;
  console.log(`(c0) asUser's own cost, a transport that answers at once, ${users.length} users, ${CONCURRENCY} in flight: ${perCall.asUser.toFixed(2)} us CPU per call vs ${perCall.held.toFixed(2)} us with a held token = ${own.toFixed(2)} us of its own`);
  return own;
}

const CONCURRENCY = 32;
const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) || 15);

/**
 * The two ways side by side: a warm-up each, then ROUNDS short rounds in a balanced order (measure.ts); prints
 * the median rates, the median of the per-round ratios with its spread, and CPU time per GET.
 */
async function compare(c: {
  title: string;
  perRound: number;
  direct: (i: number) => Promise<Response>;
  asUser: (i: number) => Promise<Response>;
  /** The hand-held token sent through asUser's own transport (createHttpFetch), when that is not `direct`'s. */
  sameTransport?: (i: number) => Promise<Response>;
  processes: Record<string, number | undefined>;
  /** What the share line says about the target. */
  target: string;
}): Promise<Record<'direct' | 'asUser', ModeSummary> & { sameTransport?: ModeSummary }> {
  let i = 0;
  const same = c.sameTransport;
  const send = { direct: () => c.direct(i++), asUser: () => c.asUser(i++), sameTransport: () => (same ?? c.direct)(i++) };
  const modes = same ? (['direct', 'asUser', 'sameTransport'] as const) : (['direct', 'asUser'] as const);
  for (const m of modes) await drive(c.perRound, CONCURRENCY, send[m]);
  const r = await interleave({ modes, rounds: ROUNDS, perRound: c.perRound, concurrency: CONCURRENCY, send, processes: c.processes });
  if (r.direct.non200 + r.asUser.non200 > 0) throw new Error(`non-200 answers: ${r.direct.non200 + r.asUser.non200}`);
  console.log(`${c.title}, ${CONCURRENCY} in flight, ${ROUNDS} rounds in a balanced order, of ${fmt(c.perRound)} per way:`);
  console.log(`    token held by hand (the limit): ${fmt(r.direct.rate)} GETs/s (median round)  ${cpuLine(r.direct)}`);
  console.log(`    through asUser:                 ${fmt(r.asUser.rate)} GETs/s (median round)  ${cpuLine(r.asUser)}`);
  console.log(`    asUser share of the limit: ${spread(r.asUser.ratio)} ${c.target}; by CPU per GET: ${pct(r.direct.cpuTotal / r.asUser.cpuTotal)}`);
  if ('sameTransport' in r) {
    const t = r.sameTransport;
    console.log(`    token held by hand over asUser's transport: ${fmt(t.rate)} GETs/s (median round)  ${cpuLine(t)}`);
    console.log(`    asUser against that same transport: ${spread(pairedRatio(r.asUser, t))} of its rate round by round, ${pct(t.cpuTotal / r.asUser.cpuTotal)} by CPU per GET`);
  }
  return r;
}

/**
 * (c2) The deployed shape: the sandbox in its own process, reached over loopback HTTP, like Confluence is
 * reached over the network; the gateway in this process.
 */
async function overHttp(path: string): Promise<{ asUser: ModeSummary; sameTransport: ModeSummary }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sandbox', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    const sandboxUrl = (JSON.parse(line) as { url: string }).url;
    const dir = mkdtempSync(join(tmpdir(), 'onbehalf-bench-'));
    const port = await freePort('127.0.0.1');
    const gw = await createGateway(loadConfig({ ONBEHALF_DATA_DIR: dir, ONBEHALF_PORT: String(port), ONBEHALF_SANDBOX_URL: sandboxUrl, ONBEHALF_LOG_LEVEL: 'silent' }, {}, dir), { logger: silentLogger() });
    const { url } = await gw.listen();
    const installed = await fetch(`${sandboxUrl}/_sandbox/sites/acme/apps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ descriptorUrl: `${url}/atlassian-connect.json` }) });
    if (!installed.ok) throw new Error(`install answered ${installed.status}`);
    const tenant = (await gw.repos.tenants.list())[0];
    if (!tenant) throw new Error('no tenant');
    const users = [DEFAULT_ACCOUNTS.alice, DEFAULT_ACCOUNTS.bob, DEFAULT_ACCOUNTS.carol, DEFAULT_ACCOUNTS.dave];
    const held = await Promise.all(users.map(async (accountId) => (await gw.connect.broker.tokenFor({ tenant, accountId })).accessToken));
    const clients = users.map((accountId) => gw.connect.actAs.asUser(tenant, accountId));
    const transport = createHttpFetch();
    const r = await compare({
      title: `(c2) over loopback HTTP (sandbox in its own process) GET ${path}, ${users.length} users`,
      perRound: 1_000,
      direct: (i) => fetch(`${tenant.baseUrl}${path}`, { headers: { Authorization: `Bearer ${held[i % users.length]}` } }),
      asUser: (i) => (clients[i % users.length] as (typeof clients)[number]).fetch(path),
      sameTransport: (i) => transport(`${tenant.baseUrl}${path}`, { headers: { Authorization: `Bearer ${held[i % users.length]}` }, redirect: 'manual' }),
      processes: { main: undefined, sandbox: child.pid },
      target: '(target >= 95%)',
    });
    transport.close();
    await gw.close();
    if (!r.sameTransport) throw new Error('(c2) ran without the same-transport way');
    return { asUser: r.asUser, sameTransport: r.sameTransport };
  } finally {
    child.kill('SIGINT');
  }
}

if (process.argv.includes('--forge-only')) await forgeRouteBench();
else {
  await main();
  await forgeRouteBench();
}

/**
 * bench/proxy: GETs per second and latency (p50/p99) against the sandbox, three ways, in one run:
 *   direct    a token held by hand, the app calls the sandbox itself (the limit)
 *   embedded  the SDK's embedded mode: `(await gateway.asUser({ site, externalUserId })).fetch(path)` in process
 *   proxy     the HTTP proxy: `client.asUser(externalUserId, { site }).fetch(path)` -> gateway -> sandbox
 * 1,000 linked users in rotation. The sandbox and the proxying gateway each run in their own process over
 * real loopback sockets (as deployed); the load generator and the embedded gateway share the main process.
 * Targets: embedded >= 95% of the limit; proxy >= 70% of the limit with <= 1 ms added p50.
 * Run: npm run bench:proxy     Prints figures; never passes or fails on time.
 *      --per-round=N changes the requests per mode and round; --profile-gateway writes a CPU profile of the
 *      proxying gateway to /tmp/onbehalf-prof.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createClient } from '../src/client/index.js';
import { freePort } from '../src/cli/free-port.js';
import { loadConfig } from '../src/config.js';

const NO_RATE_LIMIT = { ONBEHALF_API_RATE_LIMIT: '1000000', ONBEHALF_API_RATE_BURST: '1000000' };
import { createGateway } from '../src/gateway.js';
import { silentLogger } from '../src/logger.js';
import { startSandboxServer } from '../src/sandbox/index.js';
import { createConnectWorld } from '../test/support/connect-world.js';

const USERS = 1000;
const CONCURRENCY = 16;
const PER_ROUND = Number(process.argv.find((a) => a.startsWith('--per-round='))?.slice(12) || 6000);
const ROUNDS = 3;
const PATH = '/rest/api/user/current';

const role = process.argv.find((a) => a.startsWith('--role='))?.slice('--role='.length);
const arg = (name: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? '';

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function configFor(dataDir: string, port: number, sandboxUrl: string) {
  // The per-key rate limit (1,000/s by default) would cap the proxy and the benchmark would measure it.
  return loadConfig({ ONBEHALF_DATA_DIR: dataDir, ONBEHALF_PORT: String(port), ONBEHALF_SANDBOX_URL: sandboxUrl, ONBEHALF_LOG_LEVEL: 'silent', ...NO_RATE_LIMIT }, {}, dataDir);
}

/** Starts this file in another process in a role; resolves with the URL it prints. */
function child(args: string[]): Promise<{ url: string; proc: ChildProcess }> {
  const prof = args[0] === '--role=gateway' && process.argv.includes('--profile-gateway') ? ['--cpu-prof', '--cpu-prof-dir=/tmp/onbehalf-prof'] : [];
  const proc = spawn(process.execPath, [...prof, '--import', 'tsx', new URL(import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`child ${args.join(' ')} exited with ${code}`)));
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).once('line', (line) => resolve({ url: line.trim(), proc }));
  });
}

async function sandboxRole(): Promise<void> {
  const s = await startSandboxServer({ port: 0 });
  console.log(s.url);
}

async function gatewayRole(): Promise<void> {
  const dir = arg('data-dir');
  const gw = await createGateway(configFor(dir, await freePort('127.0.0.1'), arg('sandbox-url')), { logger: silentLogger(), migrate: false });
  console.log((await gw.listen()).url);
  process.once('SIGTERM', () => process.exit(0));
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

async function main(): Promise<void> {
  const sandbox = await child(['--role=sandbox']);
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${sandbox.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-bench-proxy-'));
  const gw = await createGateway(configFor(dir, await freePort('127.0.0.1'), sandbox.url), { logger: silentLogger() });
  const gwUrl = (await gw.listen()).url;
  await post('/_sandbox/sites/acme/apps', { descriptorUrl: `${gwUrl}/atlassian-connect.json` });
  const tenant = (await gw.repos.tenants.list()).find((t) => t.status === 'active');
  if (!tenant?.cloudId) throw new Error('no installed tenant');
  const users: { externalUserId: string; accountId: string }[] = [];
  for (let i = 0; i < USERS; i++) {
    const accountId = `712020:bench-${String(i).padStart(4, '0')}`;
    await post('/_sandbox/users', { accountId, displayName: `Bench User ${i}`, email: `bench${i}@acme.example`, emailVisible: false });
    // Linked as if each user had consented (the consent flow itself is covered by the tests).
    await gw.repos.links.create({ externalUserId: `bench-user-${i}`, cloudId: tenant.cloudId, accountId, route: 'connect', scopes: [], status: 'linked', evidence: { kind: 'bench' }, tenantId: tenant.id });
    users.push({ externalUserId: `bench-user-${i}`, accountId });
  }
  const { secret } = await gw.repos.apiKeys.create({ name: 'bench' });
  const proxyGw = await child(['--role=gateway', `--data-dir=${dir}`, `--sandbox-url=${sandbox.url}`]);
  const client = createClient({ baseUrl: proxyGw.url, apiKey: secret });

  // Hand-held tokens and per-user clients, created once, as an app would keep them.
  const held = await Promise.all(users.map(async (u) => (await gw.tokenFor({ site: 'acme', externalUserId: u.externalUserId })).accessToken));
  const embedded = await Promise.all(users.map((u) => gw.asUser({ site: 'acme', externalUserId: u.externalUserId })));
  const proxied = users.map((u) => client.asUser(u.externalUserId, { site: 'acme' }));
  const base = tenant.baseUrl;

  type Mode = 'direct' | 'embedded' | 'proxy';
  const send: Record<Mode, (u: number) => Promise<Response>> = {
    direct: (u) => fetch(`${base}${PATH}`, { headers: { Authorization: `Bearer ${held[u]}`, Accept: 'application/json' } }),
    embedded: (u) => (embedded[u] as (typeof embedded)[number]).fetch(PATH),
    proxy: (u) => (proxied[u] as (typeof proxied)[number]).fetch(PATH),
  };
  let cursor = 0;
  async function run(mode: Mode, n: number): Promise<{ rate: number; lat: Float64Array; non200: number }> {
    const lat = new Float64Array(n);
    let next = 0;
    let non200 = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (;;) {
          const i = next++;
          if (i >= n) return;
          const u = cursor++ % USERS;
          const t0 = performance.now();
          const res = await send[mode](u);
          await res.arrayBuffer();
          lat[i] = performance.now() - t0;
          if (res.status !== 200) non200++;
        }
      }),
    );
    return { rate: n / ((performance.now() - start) / 1000), lat, non200 };
  }

  // Warm-up: every user's token minted and cached in both gateways, JITs warm.
  for (const m of ['direct', 'embedded', 'proxy'] as const) await run(m, 2 * USERS);
  const results: Record<Mode, { rates: number[]; lats: Float64Array[]; non200: number }> = {
    direct: { rates: [], lats: [], non200: 0 },
    embedded: { rates: [], lats: [], non200: 0 },
    proxy: { rates: [], lats: [], non200: 0 },
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const m of ['direct', 'embedded', 'proxy'] as const) {
      const r = await run(m, PER_ROUND);
      results[m].rates.push(r.rate);
      results[m].lats.push(r.lat);
      results[m].non200 += r.non200;
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const summary = (m: Mode) => {
    const all = new Float64Array(results[m].lats.reduce((s, l) => s + l.length, 0));
    let at = 0;
    for (const l of results[m].lats) {
      all.set(l, at);
      at += l.length;
    }
    all.sort();
    return { rate: median(results[m].rates), p50: percentile(all, 0.5), p99: percentile(all, 0.99), non200: results[m].non200 };
  };
  const d = summary('direct');
  const e = summary('embedded');
  const p = summary('proxy');
  console.log(`GET ${PATH}, ${fmt(USERS)} linked users in rotation, ${CONCURRENCY} in flight, ${ROUNDS} interleaved rounds of ${fmt(PER_ROUND)} per mode (rate: median round; latency: all rounds)`);
  const line = (label: string, s: ReturnType<typeof summary>, extra: string) =>
    console.log(`  ${label.padEnd(34)} ${fmt(s.rate).padStart(7)} GETs/s  p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms  non-200: ${s.non200}${extra}`);
  line('direct, token held by hand (limit)', d, '');
  line('SDK embedded asUser', e, `  = ${((e.rate / d.rate) * 100).toFixed(1)}% of the limit (target >= 95%)`);
  line('HTTP proxy (SDK client.asUser)', p, `  = ${((p.rate / d.rate) * 100).toFixed(1)}% of the limit (target >= 70%), +${(p.p50 - d.p50).toFixed(2)} ms p50 (target <= 1 ms)`);

  proxyGw.proc.removeAllListeners('exit');
  sandbox.proc.removeAllListeners('exit');
  proxyGw.proc.kill();
  await gw.close();
  sandbox.proc.kill();
}

/**
 * The same three ways with no sockets at all (gateway and sandbox in one process, each one's fetch wired
 * to the other's app): what the gateway's own work costs per request, without HTTP parsing and TCP.
 */
async function inProcess(): Promise<void> {
  const w = await createConnectWorld({ ONBEHALF_LOG_LEVEL: 'silent', ...NO_RATE_LIMIT });
  await w.install('acme');
  const tenant = (await w.gateway.repos.tenants.list()).find((t) => t.status === 'active');
  if (!tenant?.cloudId) throw new Error('no tenant');
  const ids: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const accountId = w.sandbox.control.addUser({ accountId: `712020:inproc-${String(i).padStart(4, '0')}`, displayName: `U ${i}`, email: `u${i}@acme.example`, emailVisible: false }).accountId;
    await w.gateway.repos.links.create({ externalUserId: `u-${i}`, cloudId: tenant.cloudId, accountId, route: 'connect', scopes: [], status: 'linked', evidence: { kind: 'bench' }, tenantId: tenant.id });
    ids.push(`u-${i}`);
  }
  const { secret } = await w.gateway.repos.apiKeys.create({ name: 'bench-inproc' });
  const held = await Promise.all(ids.map(async (id) => (await w.gateway.tokenFor({ site: 'acme', externalUserId: id })).accessToken));
  const clients = await Promise.all(ids.map((id) => w.gateway.asUser({ site: 'acme', externalUserId: id })));
  const url = `${tenant.baseUrl}${PATH}`;
  const modes = {
    direct: (u: number) => w.fetch(url, { headers: { Authorization: `Bearer ${held[u]}`, Accept: 'application/json' } }),
    embedded: (u: number) => (clients[u] as (typeof clients)[number]).fetch(PATH),
    proxy: (u: number) => {
      // The world's clock stands still unless moved; 1 ms per request keeps the per-key rate limit
      // (1,000/s) refilling as real time would, so the in-process run measures work, not the limit.
      w.sandbox.clock.advance(1);
      return w.gateway.app.request(`/v1/act/${ids[u]}/acme${PATH}`, { headers: { Authorization: `Bearer ${secret}` } });
    },
  };
  let cursor = 0;
  async function run(mode: keyof typeof modes, n: number): Promise<number> {
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < n) {
          const res = await modes[mode](cursor++ % USERS);
          if (res.status !== 200) throw new Error(`${mode} answered ${res.status}`);
          await res.arrayBuffer();
        }
      }),
    );
    return ((performance.now() - start) * 1000) / n;
  }
  for (const m of ['direct', 'embedded', 'proxy'] as const) await run(m, 2 * USERS);
  const us: Record<string, number[]> = { direct: [], embedded: [], proxy: [] };
  for (let round = 0; round < ROUNDS; round++) for (const m of ['direct', 'embedded', 'proxy'] as const) (us[m] as number[]).push(await run(m, PER_ROUND));
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const d = med(us['direct'] as number[]);
  const e = med(us['embedded'] as number[]);
  const p = med(us['proxy'] as number[]);
  console.log(`In process, no sockets (same users, ${CONCURRENCY} in flight, median of ${ROUNDS} rounds of ${fmt(PER_ROUND)}):`);
  console.log(`  direct ${d.toFixed(0)} us/GET (${fmt(1e6 / d)}/s); embedded ${e.toFixed(0)} us/GET (${((d / e) * 100).toFixed(1)}% of the limit); proxy ${p.toFixed(0)} us/GET (${((d / p) * 100).toFixed(1)}%, +${(p - d).toFixed(0)} us)`);
  await w.close();
}

if (role === 'sandbox') await sandboxRole();
else if (role === 'gateway') await gatewayRole();
else {
  await main();
  await inProcess();
}

/**
 * What both benchmarks share: many short rounds with the ways compared interleaved (in a balanced order,
 * see `roundOrder`), a ratio per round (each way against the limit measured next to it, so slow drifts in
 * machine load cancel), medians with their spread, and CPU time per request of every process involved,
 * which other work on the machine changes far less than it changes wall-clock rates.
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** CPU time (user + system) of a process so far, in microseconds; `undefined` means this process. */
export function cpuMicros(pid?: number): number {
  if (pid === undefined || pid === process.pid) {
    const u = process.cpuUsage();
    return u.user + u.system;
  }
  // Fields after the command name (which may hold spaces), so split after the closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS;
}

/**
 * The order of the ways in round `round`: the rows of a balanced Latin square (Williams design), so every
 * way follows every other way equally often. What a round leaves behind (garbage collected during the
 * next, idle pooled connections) can carry over; with a plain rotation of three ways, each way followed
 * the same one two times in three. For an odd number of ways the mirrored rows are needed too.
 */
export function roundOrder(n: number, round: number): number[] {
  // The first row is 0, 1, n-1, 2, n-2, ...; row r adds r to every entry (mod n).
  const first = Array.from({ length: n }, (_, j) => (j % 2 === 1 ? (j + 1) / 2 : (n - j / 2) % n));
  const rows = n % 2 === 0 ? n : 2 * n;
  const row = round % rows;
  const order = first.map((v) => (v + (row % n)) % n);
  return row >= n ? order.reverse() : order;
}

export interface RoundResult {
  rate: number;
  latencies: Float64Array;
  non200: number;
}

/**
 * What a way answers: a web Response, or the limit's bare answer (status and bytes, nothing built around
 * them). Either way the body is read whole as bytes, as an app reads a small JSON answer.
 */
export interface Answer {
  status: number;
  arrayBuffer(): Promise<ArrayBufferLike | Uint8Array>;
}

/**
 * "The limit": a GET with a token held by hand over node:http with a kept-alive agent, the body read whole
 * into one buffer; no web Request, Headers or Response. The cheapest way a Node app reaches an HTTP API
 * with the platform's own client, so every other way is measured against it.
 */
export function heldTokenHttp(origin: string): { get(path: string, headers: OutgoingHttpHeaders): Promise<Answer>; close(): void } {
  const { hostname, port } = new URL(origin);
  const agent = new Agent({ keepAlive: true, maxSockets: 256, scheduling: 'lifo' });
  return {
    get: (path, headers) =>
      new Promise<Answer>((resolve, reject) => {
        const req = request({ hostname, port, path, headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('error', reject);
          res.once('end', () => {
            const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, arrayBuffer: () => Promise.resolve(bytes) });
          });
        });
        req.once('error', reject);
        req.end();
      }),
    close: () => agent.destroy(),
  };
}

/** `n` requests, `concurrency` in flight; each call's latency from send to the end of its body. */
export async function drive(n: number, concurrency: number, call: (i: number) => Promise<Answer>): Promise<RoundResult> {
  const latencies = new Float64Array(n);
  let next = 0;
  let non200 = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const t0 = performance.now();
        const res = await call(i);
        await res.arrayBuffer();
        latencies[i] = performance.now() - t0;
        if (res.status !== 200) non200++;
      }
    }),
  );
  return { rate: n / ((performance.now() - start) / 1000), latencies, non200 };
}

export interface ModeSummary {
  /** Median of the per-round rates. */
  rate: number;
  /** Each round's rate, in round order: rounds of two ways with the same index ran seconds apart. */
  rates: number[];
  /** Per-round ratio to the limit (the first mode), median and range; 1 for the limit itself. */
  ratio: { median: number; min: number; max: number; q1: number; q3: number };
  p50: number;
  p99: number;
  non200: number;
  /** CPU microseconds per request, by process label, summed over all rounds. */
  cpu: Record<string, number>;
  cpuTotal: number;
}

export function quantile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/**
 * Runs `rounds` rounds of `perRound` requests per mode, the modes in a balanced order (`roundOrder`), and
 * measures the CPU time every listed process spends in each mode's runs. The first mode is the limit.
 */
export async function interleave<M extends string>(opts: {
  modes: readonly M[];
  rounds: number;
  perRound: number;
  concurrency: number;
  send: Record<M, (i: number) => Promise<Answer>>;
  /** Processes whose CPU time is counted, by label (pid undefined = this process). */
  processes: Record<string, number | undefined>;
}): Promise<Record<M, ModeSummary>> {
  const { modes, rounds, perRound } = opts;
  const rates = Object.fromEntries(modes.map((m) => [m, [] as number[]])) as Record<M, number[]>;
  const lats = Object.fromEntries(modes.map((m) => [m, [] as Float64Array[]])) as Record<M, Float64Array[]>;
  const non200 = Object.fromEntries(modes.map((m) => [m, 0])) as Record<M, number>;
  const labels = Object.keys(opts.processes);
  const cpu = Object.fromEntries(modes.map((m) => [m, Object.fromEntries(labels.map((l) => [l, 0]))])) as Record<M, Record<string, number>>;
  for (let round = 0; round < rounds; round++) {
    for (const k of roundOrder(modes.length, round)) {
      const m = modes[k] as M;
      const before = labels.map((l) => cpuMicros(opts.processes[l]));
      const r = await drive(perRound, opts.concurrency, opts.send[m]);
      labels.forEach((l, j) => {
        (cpu[m] as Record<string, number>)[l] = ((cpu[m] as Record<string, number>)[l] as number) + cpuMicros(opts.processes[l]) - (before[j] as number);
      });
      rates[m].push(r.rate);
      lats[m].push(r.latencies);
      non200[m] += r.non200;
    }
  }
  const limit = modes[0] as M;
  const out = {} as Record<M, ModeSummary>;
  for (const m of modes) {
    const ratios = rates[m].map((r, i) => r / (rates[limit][i] as number)).sort((a, b) => a - b);
    const all = new Float64Array(lats[m].reduce((s, l) => s + l.length, 0));
    let at = 0;
    for (const l of lats[m]) {
      all.set(l, at);
      at += l.length;
    }
    all.sort();
    const n = rounds * perRound;
    const perReq = Object.fromEntries(labels.map((l) => [l, ((cpu[m] as Record<string, number>)[l] as number) / n]));
    out[m] = {
      rate: quantile([...rates[m]].sort((a, b) => a - b), 0.5),
      rates: rates[m],
      ratio: ratioSpread(ratios),
      p50: quantile(all, 0.5),
      p99: quantile(all, 0.99),
      non200: non200[m],
      cpu: perReq,
      cpuTotal: Object.values(perReq).reduce((s, v) => s + v, 0),
    };
  }
  return out;
}

function ratioSpread(sorted: number[]): ModeSummary['ratio'] {
  return { median: quantile(sorted, 0.5), min: sorted[0] as number, max: sorted[sorted.length - 1] as number, q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75) };
}

/**
 * Way `a` against way `b` round by round (both from one `interleave` run), as the limit is read: the ratio
 * of two medians taken from different rounds would let one busy round on either side move it.
 */
export function pairedRatio(a: ModeSummary, b: ModeSummary): ModeSummary['ratio'] {
  if (a.rates.length !== b.rates.length) throw new Error('pairedRatio: the ways come from different runs');
  return ratioSpread(a.rates.map((r, i) => r / (b.rates[i] as number)).sort((x, y) => x - y));
}

export function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `93.1% (IQR 90.2-95.0%, range 85.3-99.9%)` */
export function spread(r: ModeSummary['ratio']): string {
  return `${pct(r.median)} (IQR ${pct(r.q1)}-${pct(r.q3)}, range ${pct(r.min)}-${pct(r.max)})`;
}

/** One line of CPU time per request: `412 us (main 120, gateway 200, sandbox 92)`. */
export function cpuLine(s: ModeSummary): string {
  const parts = Object.entries(s.cpu)
    .filter(([, v]) => v >= 0.5)
    .map(([k, v]) => `${k} ${v.toFixed(0)}`);
  return `${s.cpuTotal.toFixed(0)} us CPU/GET (${parts.join(', ')})`;
}

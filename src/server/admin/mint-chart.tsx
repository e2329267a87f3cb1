import type { MintBucket } from '../../store/token-mints-repo.js';
import { MINUTE_MS } from '../../store/token-mints-repo.js';

export interface MinuteSlot {
  minute: number;
  connect: number;
  oauth: number;
}

/** The last `minutes` whole minutes up to and including the current one, zero-filled. */
export function minuteSlots(buckets: readonly MintBucket[], now: number, minutes = 60): MinuteSlot[] {
  const last = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const slots: MinuteSlot[] = [];
  for (let i = minutes - 1; i >= 0; i--) slots.push({ minute: last - i * MINUTE_MS, connect: 0, oauth: 0 });
  const byMinute = new Map(slots.map((s) => [s.minute, s]));
  for (const b of buckets) {
    const slot = byMinute.get(b.minute);
    if (!slot) continue;
    if (b.route === 'oauth') slot.oauth += b.count;
    else slot.connect += b.count;
  }
  return slots;
}

const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);

/** `1 token`, `2 tokens`. */
export function tokensText(n: number): string {
  return `${n} ${n === 1 ? 'token' : 'tokens'}`;
}

/** Axis numbers stay short (`2k`), so they fit the margin even at the phone's larger label size. */
const axisLabel = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));

/** The chart's sentence: what a screen reader hears and what is printed under the bars. */
export function mintSummary(connectSum: number, oauthSum: number, busiest: MinuteSlot | undefined): string {
  const total = connectSum + oauthSum;
  if (total === 0) return 'No tokens were minted in the last hour.';
  const peak = busiest ? busiest.connect + busiest.oauth : 0;
  return `${tokensText(total)} minted in the last hour: ${connectSum} by Connect impersonation, ${oauthSum} by OAuth 2.0 (3LO). Busiest minute ${busiest ? hhmm(busiest.minute) : ''} UTC with ${tokensText(peak)}.`;
}

/**
 * Tokens minted per minute as a server-rendered SVG (no script; the CSP forbids inline styles, so colours
 * come from classes in the stylesheet). Stacked bars per route; the text alternative states the totals and
 * the busiest minute, and a table lists every minute that had mints.
 */
export function MintChart(props: { slots: readonly MinuteSlot[] }) {
  // Margins fit the labels at the phone's size too (the stylesheet makes them larger in viewBox units
  // there, since the whole drawing shrinks to the screen).
  const W = 720;
  const H = 190;
  const left = 48;
  const bottom = 34;
  const top = 16;
  const plotW = W - left - 6;
  const plotH = H - bottom - top;
  const totals = props.slots.map((s) => s.connect + s.oauth);
  const max = Math.max(1, ...totals);
  const scale = niceMax(max);
  const bw = plotW / props.slots.length;
  const y = (v: number) => top + plotH - (v / scale) * plotH;
  const connectSum = props.slots.reduce((n, s) => n + s.connect, 0);
  const oauthSum = props.slots.reduce((n, s) => n + s.oauth, 0);
  const busiest = props.slots.reduce<MinuteSlot | undefined>((b, s) => (!b || s.connect + s.oauth > b.connect + b.oauth ? s : b), undefined);
  const first = props.slots[0];
  const last = props.slots[props.slots.length - 1];
  const summary = mintSummary(connectSum, oauthSum, busiest);
  return (
    <figure class="chart">
      <figcaption id="mints-caption">Tokens minted per minute, last hour (UTC)</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="mints-caption mints-desc" focusable="false">
        <desc id="mints-desc">{summary}</desc>
        {[0, 0.5, 1].map((f) => (
          <g>
            <line class="grid" x1={left} x2={W - 6} y1={y(scale * f)} y2={y(scale * f)} />
            <text x={left - 6} y={y(scale * f) + 4} text-anchor="end">
              {axisLabel(Math.round(scale * f))}
            </text>
          </g>
        ))}
        {props.slots.map((s, i) => {
          const x = left + i * bw + 1;
          const w = Math.max(1, bw - 2);
          const hc = (s.connect / scale) * plotH;
          const ho = (s.oauth / scale) * plotH;
          return (
            <g>
              {s.connect > 0 ? <rect class="bar-connect" x={x.toFixed(1)} y={(top + plotH - hc).toFixed(1)} width={w.toFixed(1)} height={hc.toFixed(1)} /> : null}
              {s.oauth > 0 ? <rect class="bar-oauth" x={x.toFixed(1)} y={(top + plotH - hc - ho).toFixed(1)} width={w.toFixed(1)} height={ho.toFixed(1)} /> : null}
            </g>
          );
        })}
        <line class="axis" x1={left} x2={W - 6} y1={top + plotH} y2={top + plotH} />
        {first ? (
          <text x={left} y={H - 4}>
            {hhmm(first.minute)}
          </text>
        ) : null}
        {last ? (
          <text x={W - 6} y={H - 4} text-anchor="end">
            {hhmm(last.minute)}
          </text>
        ) : null}
      </svg>
      <ul class="legend">
        <li>
          <span class="swatch connect" aria-hidden="true"></span>Connect: {connectSum}
        </li>
        <li>
          <span class="swatch oauth" aria-hidden="true"></span>OAuth 2.0 (3LO): {oauthSum}
        </li>
      </ul>
      <p class="muted" id="mints-summary">
        {summary}
      </p>
    </figure>
  );
}

function niceMax(n: number): number {
  // Even steps, so the half-way gridline is a whole number.
  for (const step of [4, 10, 20, 40, 100, 200, 400, 1000, 2000, 4000, 10_000]) if (n <= step) return step;
  return Math.ceil(n / 10_000) * 10_000;
}

import type { Change, ChangeFeed } from './change-feed.js';
import type { Link, LinksRepo, LiveLink } from './links-repo.js';
import type { Repositories } from './repositories-type.js';
import type { LinkRoute, LinkStatus } from './schema.js';
import { storeOf } from './track-changes.js';

/**
 * The repositories with remembered hot reads. A remembered link is a LiveLink (what the acting decision
 * needs), not the whole row: evidence and timestamps would triple what 100,000 users cost in memory.
 */
export type HotRepositories = Omit<Repositories, 'links'> & {
  links: Omit<LinksRepo, 'liveForUser' | 'liveForAccount'> & {
    liveForUser(cloudId: string, externalUserId: string): Promise<LiveLink | undefined>;
    liveForAccount(cloudId: string, accountId: string): Promise<LiveLink | undefined>;
  };
};

/**
 * Memory of the reads every act-as call repeats (the API key, the site's installs, the site's policy, the
 * user's live link), so the acting decision reads no database on the hot path.
 *
 * Correctness: every write through any repositories on this store publishes what it changed, by key
 * (store.changes), and the entries concerned are dropped at once, so in one process a change applies to
 * the very next request. Other processes' writes arrive through the change watcher (watch-changes.ts:
 * PostgreSQL LISTEN/NOTIFY, SQLite's data_version). An entry is used only while one of these holds:
 * - it was read less than `ttlMs` (1 s) ago; or
 * - the watcher proved less than `ttlMs` ago that every change committed before then has been published
 *   here (`feed.confirmedAt`); past `maxAgeMs` such an entry is still served, and read again in the
 *   background (so no caller waits on the database for it).
 * Either way a change committed by any process stops being served within `ttlMs`, and correctness never
 * depends on a notification arriving: while the watcher cannot vouch (listener down, event loop stalled)
 * entries fall back to the 1 s TTL. `maxAgeMs` (60 s) only bounds writes that bypass the notification
 * triggers (an operator's SQL with triggers disabled): they are seen within it plus one read. Absence is never remembered (an unknown key, a user
 * with no live link), so something created elsewhere works at once.
 */
const HOT_READS_TTL_MS = 1000;
const HOT_READS_MAX_AGE_MS = 60_000;

interface Entry<T> {
  readonly value: Promise<T>;
  /** When the read started (monotonic ms): it reflects every change committed before this. */
  readonly at: number;
  settled?: T;
  /** A background read past the maximum age is under way. */
  refreshing?: boolean;
}

interface Memory<T> {
  read(key: string, load: () => Promise<T>, keep?: (v: T) => boolean): Promise<T>;
  drop(key: string): void;
  /** Drops entries whose value matches, and every entry still loading (its value is not known yet). */
  dropWhere(match: (v: T) => boolean): void;
  /** Drops the entry stored first (the bound's way out). */
  dropOldest(): void;
  clear(): void;
  readonly size: number;
}

interface Validity {
  feed: ChangeFeed;
  ttlMs: number;
  maxAgeMs: number;
  now: () => number;
}

/** Entries counted across memories that share one bound; `full()` makes room for one more. */
interface Budget {
  n: number;
  readonly max: number;
  full(): void;
}

/** A map of memoised promises, used while the validity rule above holds; bounded by its budget. */
function memory<T>(v: Validity, budget?: Budget): Memory<T> {
  const entries = new Map<string, Entry<T>>();
  const b: Budget = budget ?? { n: 0, max: 1000, full: () => self.dropOldest() };
  const remove = (key: string): void => {
    if (entries.delete(key)) b.n--;
  };
  const refresh = (key: string, stale: Entry<T>, load: () => Promise<T>, keep: ((v: T) => boolean) | undefined, t: number): void => {
    stale.refreshing = true;
    const value = load();
    value.then(
      (r) => {
        // A change published meanwhile dropped the stale entry: then this read may predate it, so it goes too.
        if (entries.get(key) !== stale) return;
        if (keep && !keep(r)) remove(key);
        else entries.set(key, { value, at: t, settled: r });
      },
      () => {
        stale.refreshing = false;
      },
    );
  };
  const self: Memory<T> = {
    read(key, load, keep) {
      const t = v.now();
      const hit = entries.get(key);
      if (hit) {
        const age = t - hit.at;
        if (age <= v.ttlMs) return hit.value;
        if (t - v.feed.confirmedAt <= v.ttlMs) {
          // Vouched for, so current; past the maximum age it is read again in the background (only a write
          // that bypassed the triggers could make it wrong), and this call is not kept waiting for that.
          if (age > v.maxAgeMs && !hit.refreshing) refresh(key, hit, load, keep, t);
          return hit.value;
        }
        remove(key);
      }
      const value = load();
      const entry: Entry<T> = { value, at: t };
      if (b.n >= b.max) b.full();
      // Set before the read completes: a change published meanwhile drops it, so a read that saw the old
      // row cannot be kept after the change.
      entries.set(key, entry);
      b.n++;
      value.then(
        (r) => {
          if (entries.get(key) !== entry) return;
          // Answers not worth keeping (an unknown key, no live link) are never remembered.
          if (keep && !keep(r)) remove(key);
          else entry.settled = r;
        },
        () => {
          if (entries.get(key) === entry) remove(key);
        },
      );
      return value;
    },
    drop: remove,
    dropWhere(match) {
      for (const [key, e] of entries) if (!('settled' in e) || match(e.settled as T)) remove(key);
    },
    dropOldest() {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) remove(oldest);
    },
    clear() {
      b.n -= entries.size;
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
  return self;
}

/** A budget of its own for one flat memory. */
function flatMemory<T>(v: Validity, max: number): Memory<T> {
  const budget: Budget = { n: 0, max, full: () => m.dropOldest() };
  const m = memory<T>(v, budget);
  return m;
}

interface SiteMemory<T> {
  read(site: string, key: string, load: () => Promise<T>, keep: (v: T) => boolean): Promise<T>;
  drop(site: string, key: string): void;
  clear(): void;
  readonly size: number;
}

/**
 * The same memory keyed by (site, user or account): one map per site, so no joined key string is made per
 * call or kept per entry. All sites share one bound; past it the oldest entry of the first site goes.
 */
function siteMemory<T>(v: Validity, max: number): SiteMemory<T> {
  const sites = new Map<string, Memory<T>>();
  const budget: Budget = {
    n: 0,
    max,
    full() {
      for (const m of sites.values()) {
        if (m.size === 0) continue;
        m.dropOldest();
        return;
      }
    },
  };
  return {
    read(site, key, load, keep) {
      let m = sites.get(site);
      if (!m) {
        m = memory<T>(v, budget);
        sites.set(site, m);
      }
      return m.read(key, load, keep);
    },
    drop(site, key) {
      sites.get(site)?.drop(key);
    },
    clear() {
      sites.clear();
      budget.n = 0;
    },
    get size() {
      return budget.n;
    },
  };
}

export interface HotReadsOptions {
  /** The bound on serving a change another process made (default 1000 ms). */
  ttlMs?: number;
  /** Past this age an entry the change watcher vouches for is read again in the background (default 60 s). */
  maxAgeMs?: number;
  /** Monotonic milliseconds; must be the clock the change watcher confirms with. */
  now?: () => number;
  /** Per memory of installs, policies and API keys (default 1,000). */
  maxEntries?: number;
  /** Per memory of links, by user and by account (default 250,000 each). */
  maxLinks?: number;
}

/** How many entries each memory holds now (for benchmarks and tests). */
export interface HotReadsSizes {
  tenants: number;
  policies: number;
  apiKeys: number;
  linksByUser: number;
  linksByAccount: number;
}

const sizesOf = new WeakMap<HotRepositories, () => HotReadsSizes>();
const stampsOf = new WeakMap<HotRepositories, () => number>();

/**
 * A number that changes whenever something the hot reads answered may have changed: each published change
 * while the watcher vouches; each TTL window while it does not. A holder of a decision made from these
 * reads (a client the app keeps) decides again when it moves, which costs only memory reads.
 */
export function hotReadsStamp(hot: HotRepositories): () => number {
  const stamp = stampsOf.get(hot);
  if (!stamp) throw new Error('hotReadsStamp needs repositories from withHotReads');
  return stamp;
}

export function hotReadsSizes(hot: HotRepositories): HotReadsSizes | undefined {
  return sizesOf.get(hot)?.();
}

/**
 * Repositories whose hot reads (`tenants.findByCloudId/findByBaseUrl/list`, `policies.get`,
 * `apiKeys.verify`, `links.liveForUser/liveForAccount`) are remembered as described above; every other
 * method is the underlying one. Only hand this to the per-request paths (API key check, acting decision).
 */
export function withHotReads(repos: Repositories, options: HotReadsOptions = {}): HotRepositories {
  const store = storeOf(repos);
  if (!store) throw new Error('withHotReads needs repositories from createRepositories (changes must be tracked)');
  const v: Validity = {
    feed: store.changes,
    ttlMs: options.ttlMs ?? HOT_READS_TTL_MS,
    maxAgeMs: options.maxAgeMs ?? HOT_READS_MAX_AGE_MS,
    now: options.now ?? (() => performance.now()),
  };
  const max = options.maxEntries ?? 1000;
  const maxLinks = options.maxLinks ?? 250_000;
  const tenantReads = flatMemory<Awaited<ReturnType<Repositories['tenants']['list']>>>(v, max);
  const policyReads = flatMemory<Awaited<ReturnType<Repositories['policies']['get']>>>(v, max);
  const keyReads = flatMemory<Awaited<ReturnType<Repositories['apiKeys']['verify']>>>(v, max);
  // One entry per (site, user) that acted lately: 100,000 users fit (docs/benchmarks.md measures the
  // memory); past the bound the oldest entries go, and the cost is a database read for those users again.
  const byUser = siteMemory<LiveLink | undefined>(v, maxLinks);
  const byAccount = siteMemory<LiveLink | undefined>(v, maxLinks);
  const slim = slimmer();

  store.changes.subscribe((c: Change) => {
    switch (c.kind) {
      case 'link':
        byUser.drop(c.cloudId, c.externalUserId);
        byAccount.drop(c.cloudId, c.accountId);
        return;
      case 'tenant':
        if (c.cloudId !== null) tenantReads.drop(`cloud\u0000${c.cloudId}`);
        tenantReads.drop(`url\u0000${c.baseUrl}`);
        tenantReads.drop('list');
        return;
      case 'tenants':
        tenantReads.clear();
        return;
      case 'policy':
        policyReads.drop(c.cloudId);
        return;
      case 'apiKey':
        keyReads.dropWhere((k) => k?.id === c.id);
        return;
      case 'all':
        for (const m of [tenantReads, policyReads, keyReads, byUser, byAccount]) m.clear();
        return;
    }
  });

  const { tenants, policies, apiKeys, links } = repos;
  const hot: HotRepositories = {
    ...repos,
    tenants: {
      ...tenants,
      list: () => tenantReads.read('list', () => tenants.list()),
      findByCloudId: (cloudId) => tenantReads.read(`cloud\u0000${cloudId}`, () => tenants.findByCloudId(cloudId)),
      findByBaseUrl: (baseUrl) => tenantReads.read(`url\u0000${baseUrl}`, () => tenants.findByBaseUrl(baseUrl)),
    },
    policies: { ...policies, get: (cloudId) => policyReads.read(cloudId, () => policies.get(cloudId)) },
    // Keyed by the secret itself, in memory only (it arrives with every request anyway); unknown and
    // revoked keys are not remembered, so a key created elsewhere works at once.
    apiKeys: { ...apiKeys, verify: (secret) => keyReads.read(secret, () => apiKeys.verify(secret), (k) => k !== undefined) },
    links: {
      ...links,
      // The slim link shares the caller's strings with the memory's key instead of holding copies.
      liveForUser: (cloudId, externalUserId) =>
        byUser.read(cloudId, externalUserId, () => links.liveForUser(cloudId, externalUserId).then((l) => slim(l, { externalUserId })), (l) => l !== undefined),
      liveForAccount: (cloudId, accountId) => byAccount.read(cloudId, accountId, () => links.liveForAccount(cloudId, accountId).then((l) => slim(l, { accountId })), (l) => l !== undefined),
    },
  };
  stampsOf.set(hot, () => {
    const t = v.now();
    return t - v.feed.confirmedAt <= v.ttlMs ? v.feed.generation : -1 - Math.floor(t / v.ttlMs);
  });
  sizesOf.set(hot, () => ({ tenants: tenantReads.size, policies: policyReads.size, apiKeys: keyReads.size, linksByUser: byUser.size, linksByAccount: byAccount.size }));
  return hot;
}

const ROUTES: Readonly<Record<LinkRoute, LinkRoute>> = { connect: 'connect', oauth: 'oauth', admin: 'admin', forge: 'forge' };
const STATUSES: Readonly<Record<LinkStatus, LinkStatus>> = { pending_confirmation: 'pending_confirmation', linked: 'linked', reauth_required: 'reauth_required', revoked: 'revoked' };

/**
 * Turns a link row into the LiveLink kept in memory, sharing what many links repeat (site and install ids,
 * scope lists, route and status) instead of holding a copy per link. The shared tables are bounded.
 */
function slimmer(): (l: Link | undefined, same: { externalUserId?: string; accountId?: string }) => LiveLink | undefined {
  const ids = new Map<string, string>();
  const scopeLists = new Map<string, readonly string[]>();
  const shared = (s: string): string => {
    const hit = ids.get(s);
    if (hit !== undefined) return hit;
    if (ids.size >= 10_000) ids.clear();
    ids.set(s, s);
    return s;
  };
  const scopes = (list: readonly string[]): readonly string[] => {
    const key = list.join(' ');
    const hit = scopeLists.get(key);
    if (hit) return hit;
    if (scopeLists.size >= 1_000) scopeLists.clear();
    const frozen = Object.freeze([...list]);
    scopeLists.set(key, frozen);
    return frozen;
  };
  return (l, same) =>
    l && {
      id: l.id,
      externalUserId: same.externalUserId === l.externalUserId ? same.externalUserId : l.externalUserId,
      cloudId: shared(l.cloudId),
      accountId: same.accountId === l.accountId ? same.accountId : l.accountId,
      tenantId: l.tenantId === null ? null : shared(l.tenantId),
      route: ROUTES[l.route],
      status: STATUSES[l.status],
      statusReason: l.statusReason,
      scopes: scopes(l.scopes),
    };
}

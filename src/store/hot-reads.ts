import type { Change, ChangeFeed } from './change-feed.js';
import type { Store } from './create-store.js';
import type { Repositories } from './repositories-type.js';

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
 *   here (`feed.confirmedAt`), and the entry is younger than `maxAgeMs`.
 * Either way a change committed by any process stops being served within `ttlMs`, and correctness never
 * depends on a notification arriving: while the watcher cannot vouch (listener down, event loop stalled)
 * entries fall back to the 1 s TTL. `maxAgeMs` (60 s) only bounds writes that bypass the notification
 * triggers (an operator's SQL with triggers disabled). Absence is never remembered (an unknown key, a user
 * with no live link), so something created elsewhere works at once.
 */
const HOT_READS_TTL_MS = 1000;
const HOT_READS_MAX_AGE_MS = 60_000;

/** Read-only methods; any other method of a tracked repository counts as a write. */
const READS: Readonly<Record<Tracked, ReadonlySet<string>>> = {
  tenants: new Set(['get', 'find', 'findByOauthClientId', 'findByCloudId', 'findByBaseUrl', 'list', 'listPurgeable', 'sharedSecret']),
  policies: new Set(['get']),
  // verify() writes last_used_at at most once a minute; that changes nothing a reader here relies on.
  apiKeys: new Set(['list', 'verify']),
  links: new Set(['get', 'liveForAccount', 'liveForUser', 'list', 'countByStatus']),
};

/** Writes that publish exactly what they changed to `store.changes` themselves. */
const WRITES: Readonly<Record<Tracked, ReadonlySet<string>>> = {
  tenants: new Set(['upsert', 'setStatus', 'setEnabled', 'setCloudId', 'purge', 'supersede']),
  policies: new Set(['set']),
  apiKeys: new Set(['create', 'revoke']),
  links: new Set(['create', 'setStatus']),
};

type Tracked = 'tenants' | 'policies' | 'apiKeys' | 'links';
const TRACKED: readonly Tracked[] = ['tenants', 'policies', 'apiKeys', 'links'];

/** Which store's change feed a set of repositories publishes to. */
const stores = new WeakMap<object, Store>();

/** The methods of a tracked repository that are neither known reads nor self-publishing writes (tests keep this empty). */
export function unclassifiedMethods(repos: Repositories): string[] {
  return TRACKED.flatMap((name) =>
    Object.keys(repos[name]).filter((m) => !READS[name].has(m) && !WRITES[name].has(m)).map((m) => `${name}.${m}`),
  );
}

/**
 * Links repositories to the store whose change feed hot reads follow. A method added later that is neither
 * a known read nor a self-publishing write still invalidates: everything, once it completes (a safety net;
 * unclassifiedMethods() lets a test insist every method is classified). Called once by createRepositories.
 */
export function trackChanges(repos: Repositories, store: Store): Repositories {
  stores.set(repos, store);
  for (const name of TRACKED) {
    const repo = repos[name] as unknown as Record<string, unknown>;
    for (const [method, fn] of Object.entries(repo)) {
      if (typeof fn !== 'function' || READS[name].has(method) || WRITES[name].has(method)) continue;
      repo[method] = async (...args: unknown[]) => {
        try {
          return await (fn as (...a: unknown[]) => Promise<unknown>).apply(repo, args);
        } finally {
          store.changes.publish({ kind: 'all' });
        }
      };
    }
  }
  return repos;
}

interface Entry<T> {
  readonly value: Promise<T>;
  /** When the read started (monotonic ms): it reflects every change committed before this. */
  readonly at: number;
  settled?: T;
}

interface Memory<T> {
  read(key: string, load: () => Promise<T>, keep?: (v: T) => boolean): Promise<T>;
  drop(key: string): void;
  /** Drops entries whose value matches, and every entry still loading (its value is not known yet). */
  dropWhere(match: (v: T) => boolean): void;
  clear(): void;
  readonly size: number;
}

interface Validity {
  feed: ChangeFeed;
  ttlMs: number;
  maxAgeMs: number;
  now: () => number;
}

/** A bounded map of memoised promises (oldest dropped first), used while the validity rule above holds. */
function memory<T>(v: Validity, maxEntries: number): Memory<T> {
  const entries = new Map<string, Entry<T>>();
  return {
    read(key, load, keep) {
      const t = v.now();
      const hit = entries.get(key);
      if (hit) {
        const age = t - hit.at;
        if (age <= v.ttlMs || (age <= v.maxAgeMs && t - v.feed.confirmedAt <= v.ttlMs)) return hit.value;
        entries.delete(key);
      }
      const value = load();
      const entry: Entry<T> = { value, at: t };
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      // Set before the read completes: a change published meanwhile drops it, so a read that saw the old
      // row cannot be kept after the change.
      entries.set(key, entry);
      value.then(
        (r) => {
          if (entries.get(key) !== entry) return;
          // Answers not worth keeping (an unknown key, no live link) are never remembered.
          if (keep && !keep(r)) entries.delete(key);
          else entry.settled = r;
        },
        () => {
          if (entries.get(key) === entry) entries.delete(key);
        },
      );
      return value;
    },
    drop(key) {
      entries.delete(key);
    },
    dropWhere(match) {
      for (const [key, e] of entries) if (!('settled' in e) || match(e.settled as T)) entries.delete(key);
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}

export interface HotReadsOptions {
  /** The bound on serving a change another process made (default 1000 ms). */
  ttlMs?: number;
  /** The longest an entry is used even while the change watcher vouches for it (default 60 s). */
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

const sizesOf = new WeakMap<Repositories, () => HotReadsSizes>();

export function hotReadsSizes(hot: Repositories): HotReadsSizes | undefined {
  return sizesOf.get(hot)?.();
}

/**
 * Repositories whose hot reads (`tenants.findByCloudId/findByBaseUrl/list`, `policies.get`,
 * `apiKeys.verify`, `links.liveForUser/liveForAccount`) are remembered as described above; every other
 * method is the underlying one. Only hand this to the per-request paths (API key check, acting decision).
 */
export function withHotReads(repos: Repositories, options: HotReadsOptions = {}): Repositories {
  const store = stores.get(repos);
  if (!store) throw new Error('withHotReads needs repositories from createRepositories (changes must be tracked)');
  const v: Validity = {
    feed: store.changes,
    ttlMs: options.ttlMs ?? HOT_READS_TTL_MS,
    maxAgeMs: options.maxAgeMs ?? HOT_READS_MAX_AGE_MS,
    now: options.now ?? (() => performance.now()),
  };
  const max = options.maxEntries ?? 1000;
  const maxLinks = options.maxLinks ?? 250_000;
  const tenantReads = memory<Awaited<ReturnType<Repositories['tenants']['list']>>>(v, max);
  const policyReads = memory<Awaited<ReturnType<Repositories['policies']['get']>>>(v, max);
  const keyReads = memory<Awaited<ReturnType<Repositories['apiKeys']['verify']>>>(v, max);
  // One entry per (site, user) that acted lately: 100,000 users fit (docs/benchmarks.md measures the
  // memory); past the bound the oldest entries go, and the cost is a database read for those users again.
  type LiveLink = Awaited<ReturnType<Repositories['links']['liveForUser']>>;
  const byUser = memory<LiveLink>(v, maxLinks);
  const byAccount = memory<LiveLink>(v, maxLinks);

  store.changes.subscribe((c: Change) => {
    switch (c.kind) {
      case 'link':
        byUser.drop(`${c.cloudId}\u0000${c.externalUserId}`);
        byAccount.drop(`${c.cloudId}\u0000${c.accountId}`);
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
  const hot: Repositories = {
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
      liveForUser: (cloudId, externalUserId) => byUser.read(`${cloudId}\u0000${externalUserId}`, () => links.liveForUser(cloudId, externalUserId), (l) => l !== undefined),
      liveForAccount: (cloudId, accountId) => byAccount.read(`${cloudId}\u0000${accountId}`, () => links.liveForAccount(cloudId, accountId), (l) => l !== undefined),
    },
  };
  sizesOf.set(hot, () => ({ tenants: tenantReads.size, policies: policyReads.size, apiKeys: keyReads.size, linksByUser: byUser.size, linksByAccount: byAccount.size }));
  return hot;
}

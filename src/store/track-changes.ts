import type { Store } from './create-store.js';
import type { Repositories } from './repositories-type.js';

/*
 * Which repository methods change what the hot reads (hot-reads.ts) remember: every write either publishes
 * exactly what it changed to the store's change feed itself, or is wrapped here to publish "everything".
 */

/** Read-only methods; any other method of a tracked repository counts as a write. */
const READS: Readonly<Record<Tracked, ReadonlySet<string>>> = {
  tenants: new Set(['get', 'find', 'findByOauthClientId', 'findByCloudId', 'findByBaseUrl', 'list', 'listPurgeable', 'sharedSecret']),
  policies: new Set(['get']),
  // verify() writes last_used_at at most once a minute; that changes nothing a reader here relies on.
  apiKeys: new Set(['list', 'verify']),
  links: new Set(['get', 'liveForAccount', 'liveForUser', 'list', 'countByStatus', 'countByTenant']),
};

/** Writes that publish exactly what they changed to `store.changes` themselves. */
const WRITES: Readonly<Record<Tracked, ReadonlySet<string>>> = {
  tenants: new Set(['upsert', 'setStatus', 'setEnabled', 'setCloudId', 'purge', 'supersede']),
  policies: new Set(['set']),
  apiKeys: new Set(['create', 'revoke']),
  links: new Set(['create', 'setStatus', 'moveToForge']),
};

type Tracked = 'tenants' | 'policies' | 'apiKeys' | 'links';
const TRACKED: readonly Tracked[] = ['tenants', 'policies', 'apiKeys', 'links'];

/** Which store's change feed a set of repositories publishes to. */
const stores = new WeakMap<object, Store>();

/** The store trackChanges linked these repositories to (hot reads follow its change feed). */
export function storeOf(repos: Repositories): Store | undefined {
  return stores.get(repos);
}

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

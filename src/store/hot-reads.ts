import type { Repositories } from './repositories-type.js';

/**
 * Short-lived memory of the reads every act-as call repeats (the API key, the site's tenants, the site's
 * policy, the user's live link), which change rarely but were read from the database on every request.
 *
 * Correctness: any write through this process's repositories (install, uninstall, enable, policy change,
 * key revocation, link revocation, ...) empties the memory at once, so in one gateway a change applies to
 * the very next request. Another gateway process sharing the database (or the CLI) sees the change within
 * `ttlMs` (1 s), measured in real time. Absence is never remembered (an unknown key, a user with no live
 * link), so something created elsewhere works at once.
 */
const HOT_READS_TTL_MS = 1000;

/** Bumped by every write through a tracked repository. */
const versions = new WeakMap<object, { n: number }>();

/** Read-only methods; any other method of a tracked repository counts as a write (a new one included). */
const READS: Readonly<Record<'tenants' | 'policies' | 'apiKeys' | 'links', ReadonlySet<string>>> = {
  tenants: new Set(['get', 'find', 'findByOauthClientId', 'findByCloudId', 'findByBaseUrl', 'list', 'listPurgeable', 'sharedSecret']),
  policies: new Set(['get']),
  // verify() writes last_used_at at most once a minute; that changes nothing a reader here relies on.
  apiKeys: new Set(['list', 'verify']),
  links: new Set(['get', 'liveForAccount', 'liveForUser', 'list', 'countByStatus', 'countByTenant']),
};

/**
 * Makes the repositories' tenant, policy, API-key and link writes bump the change counter that hot reads check.
 * Called once by createRepositories.
 */
export function trackChanges(repos: Repositories): Repositories {
  const version = { n: 0 };
  versions.set(repos, version);
  for (const name of ['tenants', 'policies', 'apiKeys', 'links'] as const) {
    const repo = repos[name] as unknown as Record<string, unknown>;
    for (const [method, fn] of Object.entries(repo)) {
      if (typeof fn !== 'function' || READS[name].has(method)) continue;
      repo[method] = async (...args: unknown[]) => {
        version.n++;
        try {
          return await (fn as (...a: unknown[]) => Promise<unknown>).apply(repo, args);
        } finally {
          // Again once the write is in: a read that started before it may have filled the memory meanwhile.
          version.n++;
        }
      };
    }
  }
  return repos;
}

interface Entry<T> {
  value: Promise<T>;
  version: number;
  until: number;
}

/** A bounded map of memoised promises, valid while unchanged and younger than the TTL. */
function memo<T>(version: { n: number }, ttlMs: number, now: () => number, maxEntries: number) {
  const entries = new Map<string, Entry<T>>();
  return (key: string, load: () => Promise<T>, keep: (v: T) => boolean = () => true): Promise<T> => {
    const hit = entries.get(key);
    const t = now();
    if (hit && hit.version === version.n && hit.until > t) return hit.value;
    const v = version.n;
    const value = load();
    if (entries.size >= maxEntries) entries.clear();
    entries.set(key, { value, version: v, until: t + ttlMs });
    // Failures and answers not worth keeping (an unknown key) are never remembered.
    value.then(
      (r) => {
        if (!keep(r) && entries.get(key)?.value === value) entries.delete(key);
      },
      () => {
        if (entries.get(key)?.value === value) entries.delete(key);
      },
    );
    return value;
  };
}

/**
 * Repositories whose hot reads (`tenants.findByCloudId/findByBaseUrl/list`, `policies.get`,
 * `apiKeys.verify`, `links.liveForUser/liveForAccount`) are remembered as described above; every other
 * method is the underlying one. Only hand this to the per-request paths (API key check, acting decision).
 */
export function withHotReads(repos: Repositories, options: { ttlMs?: number; now?: () => number; maxEntries?: number; maxLinks?: number } = {}): Repositories {
  const version = versions.get(repos);
  if (!version) throw new Error('withHotReads needs repositories from createRepositories (changes must be tracked)');
  const ttlMs = options.ttlMs ?? HOT_READS_TTL_MS;
  const now = options.now ?? (() => performance.now());
  const max = options.maxEntries ?? 1000;
  const tenantReads = memo<Awaited<ReturnType<Repositories['tenants']['list']>>>(version, ttlMs, now, max);
  const policyReads = memo<Awaited<ReturnType<Repositories['policies']['get']>>>(version, ttlMs, now, max);
  const keyReads = memo<Awaited<ReturnType<Repositories['apiKeys']['verify']>>>(version, ttlMs, now, max);
  // One entry per active (site, user) pair in the last second; past the bound the memory starts over, and
  // the cost is a database read per call again, as before links were remembered.
  const linkReads = memo<Awaited<ReturnType<Repositories['links']['liveForUser']>>>(version, ttlMs, now, options.maxLinks ?? 20_000);
  const { tenants, policies, apiKeys, links } = repos;
  return {
    ...repos,
    tenants: {
      ...tenants,
      list: () => tenantReads('list', () => tenants.list()),
      findByCloudId: (cloudId) => tenantReads(`cloud\u0000${cloudId}`, () => tenants.findByCloudId(cloudId)),
      findByBaseUrl: (baseUrl) => tenantReads(`url\u0000${baseUrl}`, () => tenants.findByBaseUrl(baseUrl)),
    },
    policies: { ...policies, get: (cloudId) => policyReads(cloudId, () => policies.get(cloudId)) },
    // Keyed by the secret itself, in memory only (it arrives with every request anyway); unknown and
    // revoked keys are not remembered, so a key created elsewhere works at once.
    apiKeys: { ...apiKeys, verify: (secret) => keyReads(secret, () => apiKeys.verify(secret), (k) => k !== undefined) },
    links: {
      ...links,
      liveForUser: (cloudId, externalUserId) => linkReads(`user\u0000${cloudId}\u0000${externalUserId}`, () => links.liveForUser(cloudId, externalUserId), (l) => l !== undefined),
      liveForAccount: (cloudId, accountId) => linkReads(`account\u0000${cloudId}\u0000${accountId}`, () => links.liveForAccount(cloudId, accountId), (l) => l !== undefined),
    },
  };
}

/**
 * What changed in the rows the hot reads remember (links, installs, policies, API keys), by key: published
 * in process by the repositories right after a write commits, and from other processes by the change
 * watcher (PostgreSQL LISTEN/NOTIFY, SQLite's data_version). Carries identifiers only, never secrets.
 */
export type Change =
  /** A link of this user and this account on this site (only live links are remembered). */
  | { readonly kind: 'link'; readonly cloudId: string; readonly externalUserId: string; readonly accountId: string }
  /** An install of this site (by cloud id, when known, and by base URL). */
  | { readonly kind: 'tenant'; readonly cloudId: string | null; readonly baseUrl: string }
  /** Some install: the exact one is not known cheaply (a rare write such as learning a site's cloud id). */
  | { readonly kind: 'tenants' }
  | { readonly kind: 'policy'; readonly cloudId: string }
  | { readonly kind: 'apiKey'; readonly id: string }
  /** Anything may have changed (another process wrote to SQLite, the listener reconnected). */
  | { readonly kind: 'all' };

export interface ChangeFeed {
  /** Hands changes to every subscriber at once (synchronously). */
  publish(changes: Change | readonly Change[]): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: (change: Change) => void): () => void;
  /**
   * A monotonic instant (ms) before which every change committed by any process has been published here,
   * or -Infinity while nobody vouches for that (no watcher, listener down). Set by the change watcher.
   */
  readonly confirmedAt: number;
  /** Called by the watcher after each proof that nothing committed before `at` is still unpublished. */
  confirm(at: number): void;
  /** Called by the watcher when it can no longer vouch (connection lost, stopped). */
  unconfirm(): void;
  /** Bumped on every published change: a cheap way for holders of a decision to notice one may be stale. */
  readonly generation: number;
}

export function createChangeFeed(): ChangeFeed {
  const listeners = new Set<(change: Change) => void>();
  let confirmedAt = Number.NEGATIVE_INFINITY;
  let generation = 0;
  return {
    publish(changes) {
      generation++;
      const list: readonly Change[] = Array.isArray(changes) ? changes : [changes as Change];
      for (const listener of listeners) for (const c of list) listener(c);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    get confirmedAt() {
      return confirmedAt;
    },
    confirm(at) {
      if (at > confirmedAt) confirmedAt = at;
    },
    unconfirm() {
      confirmedAt = Number.NEGATIVE_INFINITY;
    },
    get generation() {
      return generation;
    },
  };
}

/** Most NOTIFY payloads stay far below PostgreSQL's 8000-byte limit; a longer one says "links" instead. */
export function parseChangePayload(payload: string): Change | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  const [kind, a, b, c] = v as unknown[];
  const str = (x: unknown): x is string => typeof x === 'string';
  switch (kind) {
    case 'link':
      return str(a) && str(b) && str(c) ? { kind: 'link', cloudId: a, externalUserId: b, accountId: c } : { kind: 'all' };
    case 'tenant':
      return str(b) && (a === null || str(a)) ? { kind: 'tenant', cloudId: a, baseUrl: b } : { kind: 'tenants' };
    case 'policy':
      return str(a) ? { kind: 'policy', cloudId: a } : { kind: 'all' };
    case 'apiKey':
      return str(a) ? { kind: 'apiKey', id: a } : { kind: 'all' };
    case 'all':
      return { kind: 'all' };
    default:
      return undefined;
  }
}

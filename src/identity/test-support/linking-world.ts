import { after, before } from 'node:test';
import { createLinkSessionsRepo } from '../../store/link-sessions-repo.js';
import { createLinksRepo } from '../../store/links-repo.js';
import type { Repositories } from '../../store/repositories.js';
import { testBackends } from '../../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../../store/test-support/open-test-store.js';
import { createLinkSessions, type Decision, type LinkSessions, type StartLinkSessionInput } from '../link-sessions.js';

export const BASE_URL = 'https://gw.example';
export const SITE_A = 'a1c0e000-0000-4000-8000-00000000000a';
export const SITE_B = 'a1c0e000-0000-4000-8000-00000000000b';

/**
 * A real SQLite store in a temp dir with the link sessions on top, for the unit tests of the linking
 * decisions. `bare` is the same store without the sweep that ends lapsed claims before each read of links
 * and sessions (withClaimExpiry): link sessions must refuse a lapsed code on their own, since a claim can
 * lapse between that sweep and their own check.
 */
export interface LinkingWorld {
  t: TestStore;
  sessions: LinkSessions;
  bare: { repos: Repositories; sessions: LinkSessions };
  /** Starts a session and returns it with its secret token (from its URL). */
  started(input: Partial<StartLinkSessionInput> & { externalUserId: string }, on?: LinkSessions): Promise<{ id: string; token: string; url: string; expiresAt: number }>;
  close(): Promise<void>;
}

export async function openLinkingWorld(): Promise<LinkingWorld> {
  const t = await openTestStore(testBackends()[0]!);
  const sessions = createLinkSessions({ repos: t.repos, clock: t.clock }, { baseUrl: BASE_URL });
  const deps = { store: t.store, clock: t.clock };
  const bareRepos: Repositories = { ...t.repos, links: createLinksRepo(deps), linkSessions: createLinkSessionsRepo(deps) };
  const bareSessions = createLinkSessions({ repos: bareRepos, clock: t.clock }, { baseUrl: BASE_URL });
  return {
    t,
    sessions,
    bare: { repos: bareRepos, sessions: bareSessions },
    async started(input, on = sessions) {
      const s = await on.start({ route: 'connect', ...input });
      const prefix = `${BASE_URL}/link/`;
      if (!s.url.startsWith(prefix)) throw new Error(`unexpected session URL ${s.url}`);
      return { ...s, token: s.url.slice(prefix.length) };
    },
    close: () => t.close(),
  };
}

/** A decision as the consent page or the 3LO callback makes it. */
export function decision(accountId: string, sites: string[], over: Partial<Decision> = {}): Decision {
  return {
    accountId,
    sites: sites.map((cloudId) => ({ cloudId, tenantId: null })),
    route: 'connect',
    scopes: ['READ'],
    evidence: { kind: 'test', accountId },
    allow: true,
    ...over,
  };
}

/** For the enclosing describe: one world, opened before its tests and closed after them; `use` receives it. */
export function linkingWorldPerDescribe(use: (world: LinkingWorld) => void): void {
  let world: LinkingWorld | undefined;
  before(async () => {
    world = await openLinkingWorld();
    use(world);
  }, { timeout: 120_000 });
  after(() => world?.close(), { timeout: 120_000 });
}

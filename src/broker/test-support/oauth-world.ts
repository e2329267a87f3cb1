import type { Writable } from 'node:stream';
import { after, afterEach, before, beforeEach } from 'node:test';
import { authorizationCodeRequest, processTokenResponse } from '../../atlassian/oauth-token.js';
import type { FetchLike } from '../../atlassian/send-request.js';
import { createManualClock } from '../../clock.js';
import { createLogger } from '../../logger.js';
import { createSandbox, DEFAULT_OAUTH_CLIENT, type Sandbox } from '../../sandbox/index.js';
import { createTokensRepo, type TokensRepo } from '../../store/tokens-repo.js';
import type { TestBackend } from '../../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../../store/test-support/open-test-store.js';
import { createOAuthTokenBroker, type OAuthIssuedToken, type OAuthTokenBroker, type OAuthTokenBrokerDeps, type OAuthTokenBrokerOptions } from '../oauth-token-broker.js';

export const REDIRECT_URI = 'http://127.0.0.1/callback';
export const GRANT_SCOPES = ['offline_access', 'read:page:confluence', 'write:page:confluence'];
export const T0 = Date.UTC(2026, 10, 1);

export interface OAuthWorld {
  t: TestStore;
  sandbox: Sandbox;
  tokens: TokensRepo;
  tokenUrl: string;
  /** Every log line the brokers of this world wrote. */
  logs: string[];
  /** Backoff pauses the brokers asked for (never waited). */
  sleeps: number[];
  broker(overrides?: { deps?: Partial<OAuthTokenBrokerDeps>; options?: Partial<OAuthTokenBrokerOptions> }): OAuthTokenBroker;
  /** A code from the sandbox's control API, exchanged at its token endpoint (what the consent callback does). */
  exchange(accountId: string, scopes?: string[]): Promise<Awaited<ReturnType<typeof processTokenResponse>>>;
  /** exchange + storeGrant. */
  connect(broker: OAuthTokenBroker, accountId: string, scopes?: string[]): Promise<OAuthIssuedToken>;
  /** Status of `GET /oauth/token/accessible-resources` with this access token at the sandbox. */
  probe(accessToken: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * A store of the given backend plus an in-process sandbox. The sandbox runs on a manual clock and the
 * gateway side (broker and tokens repo) reads `sandbox.clock`, so `sandbox.clock.advance(ms)` moves both.
 */
export async function openOAuthWorld(
  backend: TestBackend,
  options: { fetch?: (sandboxFetch: FetchLike) => FetchLike; /** Reuse this store (close() then only empties the tokens table). */ shared?: TestStore } = {},
): Promise<OAuthWorld> {
  const shared = options.shared;
  const t = shared ?? (await openTestStore(backend));
  const sandbox = createSandbox({ clock: createManualClock(T0) });
  const clock = sandbox.clock;
  const tokens = createTokensRepo({ store: t.store, box: t.box, clock });
  const tokenUrl = `${sandbox.origin}/oauth/token`;
  const logs: string[] = [];
  const sleeps: number[] = [];
  const destination = { write: (s: string) => void logs.push(s) } as unknown as Writable;
  const logger = createLogger({ level: 'debug', destination });
  const sandboxFetch: FetchLike = (url, init) => sandbox.fetch(url, init);
  const fetch = options.fetch ? options.fetch(sandboxFetch) : sandboxFetch;

  const world: OAuthWorld = {
    t,
    sandbox,
    tokens,
    tokenUrl,
    logs,
    sleeps,
    broker(overrides = {}) {
      return createOAuthTokenBroker(
        {
          store: t.store,
          repos: { tokens },
          endpoints: { tokenUrl },
          fetch,
          clock,
          logger,
          sleep: async (ms) => void sleeps.push(ms),
          random: () => 0.5,
          ...overrides.deps,
        },
        {
          clientId: DEFAULT_OAUTH_CLIENT.clientId,
          clientSecret: DEFAULT_OAUTH_CLIENT.clientSecret,
          refreshSkewMs: 60_000,
          cacheMaxEntries: 100,
          ...overrides.options,
        },
      );
    },
    async exchange(accountId, scopes = GRANT_SCOPES) {
      const code = sandbox.control.issueAuthorizationCode({ clientId: DEFAULT_OAUTH_CLIENT.clientId, accountId, redirectUri: REDIRECT_URI, scopes });
      const res = await authorizationCodeRequest({
        tokenEndpoint: tokenUrl,
        clientId: DEFAULT_OAUTH_CLIENT.clientId,
        clientSecret: DEFAULT_OAUTH_CLIENT.clientSecret,
        code,
        redirectUri: REDIRECT_URI,
        fetch: sandboxFetch,
      });
      return processTokenResponse(res, clock);
    },
    async connect(broker, accountId, scopes = GRANT_SCOPES) {
      return broker.storeGrant({ accountId, scopes, tokens: await world.exchange(accountId, scopes) });
    },
    async probe(accessToken) {
      const res = await sandbox.fetch(`${sandbox.origin}/oauth/token/accessible-resources`, { headers: { authorization: `Bearer ${accessToken}` } });
      await res.body?.cancel();
      return res.status;
    },
    async close() {
      if (shared) await t.store.db.deleteFrom('tokens').execute();
      else await t.close();
    },
  };
  return world;
}

/** The sandbox's refresh-token families for a client: how many exist and how many were revoked. */
export function families(sandbox: Sandbox): { total: number; revoked: number } {
  const all = [...sandbox.state.refreshFamilies.values()];
  return { total: all.length, revoked: all.filter((f) => f.revokedAt !== null).length };
}

/**
 * For the enclosing describe: one store of the backend, and a fresh world on it for each test (close() empties
 * its tokens). `use` receives the store once it is open and each test's world before the test runs.
 */
export function oauthWorldPerTest(backend: TestBackend, use: (shared: TestStore, world: OAuthWorld) => void): void {
  let shared: TestStore | undefined;
  let world: OAuthWorld | undefined;
  before(async () => {
    shared = await openTestStore(backend);
  }, { timeout: 120_000 });
  after(() => shared?.close(), { timeout: 120_000 });
  beforeEach(async () => {
    if (!shared) throw new Error('the store did not open');
    world = await openOAuthWorld(backend, { shared });
    use(shared, world);
  }, { timeout: 120_000 });
  afterEach(() => world?.close(), { timeout: 120_000 });
}

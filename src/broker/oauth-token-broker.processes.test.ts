import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { authorizationCodeRequest, processTokenResponse } from '../atlassian/oauth-token.js';
import { silentLogger } from '../logger.js';
import { DEFAULT_ACCOUNTS, DEFAULT_OAUTH_CLIENT, startSandboxServer, type SandboxServer } from '../sandbox/index.js';
import { testBackends } from '../store/test-support/backends.js';
import { openTestStore, type TestStore } from '../store/test-support/open-test-store.js';
import { createTokensRepo, type TokensRepo } from '../store/tokens-repo.js';
import { createOAuthTokenBroker, oauthScopeKey, type OAuthTokenBroker } from './oauth-token-broker.js';
import type { ChildInput, ChildResult } from './test-support/oauth-broker-child.js';
import { families, GRANT_SCOPES, REDIRECT_URI } from './test-support/oauth-world.js';

const CHILD = fileURLToPath(new URL('./test-support/oauth-broker-child.ts', import.meta.url));
const ALICE = DEFAULT_ACCOUNTS.alice;
const HOUR = 3600_000;
const refreshKey = { route: 'oauth' as const, appKey: DEFAULT_OAUTH_CLIENT.clientId, tenantKey: '', accountId: ALICE, kind: 'refresh' as const, scopeKey: oauthScopeKey(GRANT_SCOPES) };

interface Child {
  proc: ChildProcessWithoutNullStreams;
  /** Resolves with the next JSON line the child prints that has this event name. */
  next(event: string): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

function startChild(input: ChildInput): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(input)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      err += `${line}\n`;
    }
    waiters.splice(0).forEach((w) => w());
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    exited,
    stderr: () => err,
    async next(event) {
      for (;;) {
        const i = lines.findIndex((l) => l['event'] === event || l['event'] === 'error');
        if (i >= 0) {
          const [line] = lines.splice(i, 1);
          if (line?.['event'] === 'error') throw new Error(`child failed: ${String(line['message'])}\n${err}`);
          return line ?? {};
        }
        const gone = await Promise.race([new Promise<boolean>((r) => waiters.push(() => r(false))), exited.then(() => true)]);
        if (gone && !lines.some((l) => l['event'] === event)) throw new Error(`child exited before "${event}"\n${err}`);
      }
    },
  };
}

for (const backend of testBackends()) {
  // Processes wait on each other's refresh lock: a bug that makes a wait endless fails this suite by name.
  describe(`OAuth token broker across processes: ${backend.name}`, { timeout: 240_000 }, () => {
    let t: TestStore;
    let sb: SandboxServer;
    let tokens: TokensRepo;
    let broker: OAuthTokenBroker;
    const children: Child[] = [];

    beforeEach(async () => {
      t = await openTestStore(backend);
      sb = await startSandboxServer();
      tokens = createTokensRepo({ store: t.store, box: t.box, clock: sb.sandbox.clock });
      broker = createOAuthTokenBroker(
        {
          store: t.store,
          repos: { tokens },
          endpoints: { tokenUrl: `${sb.url}/oauth/token` },
          fetch: (url, init) => fetch(url, init),
          clock: sb.sandbox.clock,
          logger: silentLogger(),
          sleep: async () => undefined,
        },
        { clientId: DEFAULT_OAUTH_CLIENT.clientId, clientSecret: DEFAULT_OAUTH_CLIENT.clientSecret, refreshSkewMs: 60_000, cacheMaxEntries: 10, lockWaitMs: 20_000 },
      );
      // The consent callback: a code from the sandbox, exchanged over HTTP, stored by the parent.
      const code = sb.sandbox.control.issueAuthorizationCode({ clientId: DEFAULT_OAUTH_CLIENT.clientId, accountId: ALICE, redirectUri: REDIRECT_URI, scopes: GRANT_SCOPES });
      const res = await authorizationCodeRequest({
        tokenEndpoint: `${sb.url}/oauth/token`,
        clientId: DEFAULT_OAUTH_CLIENT.clientId,
        clientSecret: DEFAULT_OAUTH_CLIENT.clientSecret,
        code,
        redirectUri: REDIRECT_URI,
        fetch: (url, init) => fetch(url, init),
      });
      await broker.storeGrant({ accountId: ALICE, scopes: GRANT_SCOPES, tokens: await processTokenResponse(res, sb.sandbox.clock) });
      // The user's access token has expired, at the sandbox and for every gateway process.
      sb.sandbox.clock.advance(2 * HOUR);
    }, { timeout: 120_000 });

    afterEach(async () => {
      for (const c of children.splice(0)) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await sb.close();
      await t.close();
    }, { timeout: 120_000 });

    const childInput = (mode: ChildInput['mode'], calls: number): ChildInput => ({
      mode,
      db: t.config,
      keyring: { activeKeyId: t.keyring.activeKeyId, keys: [...t.keyring.keys].map(([id, k]) => [id, k.toString('base64')]) },
      tokenUrl: `${sb.url}/oauth/token`,
      clientId: DEFAULT_OAUTH_CLIENT.clientId,
      clientSecret: DEFAULT_OAUTH_CLIENT.clientSecret,
      clockOffsetMs: sb.sandbox.clock.now() - Date.now(),
      accountId: ALICE,
      calls,
    });

    const probe = async (accessToken: string) => {
      const res = await fetch(`${sb.url}/oauth/token/accessible-resources`, { headers: { authorization: `Bearer ${accessToken}` } });
      await res.body?.cancel();
      return res.status;
    };

    test('200 concurrent tokenFor calls split over two processes: exactly one refresh, no invalid_grant', async () => {
      const a = startChild(childInput('burst', 100));
      const b = startChild(childInput('burst', 100));
      children.push(a, b);
      await Promise.all([a.next('ready'), b.next('ready')]);
      a.proc.stdin.write('go\n');
      b.proc.stdin.write('go\n');
      const [ra, rb] = (await Promise.all([a.next('done'), b.next('done')])) as unknown as [ChildResult, ChildResult];
      await Promise.all([a.exited, b.exited]);

      assert.deepEqual([ra.errors, rb.errors], [{}, {}]);
      assert.equal(ra.ok + rb.ok, 200);
      assert.equal(ra.accessTokens, 1);
      assert.equal(rb.accessTokens, 1);
      assert.equal(ra.token, rb.token, 'both processes hand out the one new access token');
      assert.equal(sb.sandbox.control.counters.total('refresh_grant'), 1, 'exactly one refresh at Atlassian');
      assert.equal((ra.stats['refreshes'] ?? 0) + (rb.stats['refreshes'] ?? 0), 1);
      // The other process did not refresh: it found the new token after the lock or in the store.
      const loser = (ra.stats['refreshes'] ?? 0) === 1 ? rb : ra;
      assert.equal((loser.stats['reusedAfterLock'] ?? 0) + (loser.stats['storeHits'] ?? 0), 1);
      assert.deepEqual(families(sb.sandbox), { total: 1, revoked: 0 }, 'no invalid_grant, no family revocation');
      assert.equal(await probe(ra.token ?? ''), 200);
      const stored = await tokens.get(refreshKey);
      assert.equal(stored?.version, 2, 'rotated exactly once in the store');
    });

    test('SIGKILL between the token response and the commit: the old refresh token stays, the parent refreshes, the chain lives on', async () => {
      const before = await tokens.get(refreshKey);
      const child = startChild(childInput('crash', 1));
      children.push(child);
      const { signal } = await child.exited;
      assert.equal(signal, 'SIGKILL', `the child should die in the hook; stderr: ${child.stderr()}`);
      assert.equal(sb.sandbox.control.counters.total('refresh_grant'), 1, 'the child did get a rotated token from Atlassian');
      const kept = await tokens.get(refreshKey);
      assert.equal(kept?.token, before?.token, 'nothing was committed');
      assert.equal(kept?.version, before?.version);

      // The parent, same store, a little later (inside the 10-minute leeway).
      sb.sandbox.clock.advance(2 * 60_000);
      const token = await broker.tokenFor({ accountId: ALICE });
      assert.equal(await probe(token.accessToken), 200);
      assert.equal(sb.sandbox.control.counters.total('refresh_grant'), 2);
      const after = await tokens.get(refreshKey);
      assert.notEqual(after?.token, before?.token);
      assert.equal(after?.previousToken, before?.token);

      // Long after the leeway the stored (rotated) token keeps working: the chain was not lost.
      sb.sandbox.clock.advance(3 * HOUR);
      const later = await broker.tokenFor({ accountId: ALICE });
      assert.equal(await probe(later.accessToken), 200);
      assert.equal(sb.sandbox.control.counters.total('refresh_grant'), 3);
      assert.deepEqual(families(sb.sandbox), { total: 1, revoked: 0 }, 'no family revocation');
    });
  });
}

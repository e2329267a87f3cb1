/**
 * A second (third, ...) gateway process for the cross-process broker tests, started with
 * `node --import tsx oauth-broker-child.ts '<json>'`. It opens the same store as the parent, builds an OAuth
 * token broker against the parent's sandbox over real HTTP, and prints one JSON line per event on stdout:
 *   {"event":"ready"}                      then waits for "go" on stdin (burst mode)
 *   {"event":"done", ...}                  the result of the burst
 * In crash mode it asks for a token with a hook that SIGKILLs the process after the token endpoint answered
 * and before the rotated refresh token is committed.
 */
import { createInterface } from 'node:readline';
import type { DatabaseConfig } from '../../config.js';
import { isGatewayError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { createStore } from '../../store/create-store.js';
import { createSecretBox } from '../../store/secret-box.js';
import { createTokensRepo } from '../../store/tokens-repo.js';
import { createOAuthTokenBroker } from '../oauth-token-broker.js';

export interface ChildInput {
  mode: 'burst' | 'crash';
  db: DatabaseConfig;
  keyring: { activeKeyId: string; keys: Array<[string, string]> };
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Added to Date.now(): the parent's sandbox clock has been advanced by this much. */
  clockOffsetMs: number;
  accountId: string;
  calls: number;
}

export interface ChildResult {
  event: 'done';
  ok: number;
  errors: Record<string, number>;
  accessTokens: number;
  stats: Record<string, number>;
  /** The access token it got (a sandbox token, test only), so the parent can compare the processes. */
  token?: string;
}

function print(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as ChildInput;
  const clock = { now: () => Date.now() + input.clockOffsetMs };
  const store = createStore(input.db);
  const box = createSecretBox({ activeKeyId: input.keyring.activeKeyId, keys: new Map(input.keyring.keys.map(([id, k]) => [id, Buffer.from(k, 'base64')])) });
  const tokens = createTokensRepo({ store, box, clock });
  const broker = createOAuthTokenBroker(
    {
      store,
      repos: { tokens },
      endpoints: { tokenUrl: input.tokenUrl },
      fetch: (url, init) => fetch(url, init),
      clock,
      logger: silentLogger(),
      ...(input.mode === 'crash'
        ? {
            beforeCommit: () => {
              process.kill(process.pid, 'SIGKILL');
            },
          }
        : {}),
    },
    { clientId: input.clientId, clientSecret: input.clientSecret, refreshSkewMs: 60_000, cacheMaxEntries: 100, lockWaitMs: 20_000 },
  );

  if (input.mode === 'crash') {
    await broker.tokenFor({ accountId: input.accountId });
    print({ event: 'survived' });
    await store.close();
    return;
  }

  print({ event: 'ready' });
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
  lines.close();

  const results = await Promise.allSettled(Array.from({ length: input.calls }, () => broker.tokenFor({ accountId: input.accountId })));
  const errors: Record<string, number> = {};
  const accessTokens = new Set<string>();
  for (const r of results) {
    if (r.status === 'fulfilled') accessTokens.add(r.value.accessToken);
    else {
      const code = isGatewayError(r.reason) ? r.reason.code : String(r.reason);
      errors[code] = (errors[code] ?? 0) + 1;
    }
  }
  const [first] = accessTokens;
  const result: ChildResult = {
    event: 'done',
    ok: results.filter((r) => r.status === 'fulfilled').length,
    errors,
    accessTokens: accessTokens.size,
    stats: { ...broker.stats },
    ...(first !== undefined ? { token: first } : {}),
  };
  print(result);
  await store.close();
}

main().catch((e: unknown) => {
  print({ event: 'error', message: e instanceof Error ? e.message : String(e) });
  process.exitCode = 1;
});

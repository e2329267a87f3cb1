import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock, type Clock } from '../../src/clock.js';
import { DEFAULT_OAUTH_SCOPES, loadConfig } from '../../src/config.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { createInstallKeys, type InstallKeys } from '../../src/sandbox/connect/create-install-keys.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { TestBackend } from '../../src/store/test-support/backends.js';
import { createUserAgent } from './user-agent.js';

export const GATEWAY_ORIGIN = 'http://gateway.test';
export const SANDBOX_ORIGIN = 'http://sandbox.test';
export const ADMIN_SECRET = 'admin-secret-for-the-shared-db-world-0123456789';

let sharedKeys: InstallKeys | undefined;

export interface SharedDbWorld {
  sandbox: Sandbox;
  /** Gateway instances on one database (the first one receives the sandbox's calls: installs, webhooks, consent). */
  gateways: Gateway[];
  fetch: typeof fetch;
  /** What a CLI process beside the gateways needs in its environment to open the same database and keys. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * One sandbox and `instances` gateways sharing one database (SQLite file or a fresh PostgreSQL database;
 * SQLite is for one gateway process, and two in one process would block each other's synchronous writes),
 * wired in process as in connect-world.ts. `gatewayClock: 'own'` gives the gateways a clock of their own
 * that the sandbox's `advanceClock` does not move: Atlassian then expires (401s) tokens the gateways still
 * think fresh, as when an access token is revoked upstream before its `exp`.
 */
export async function createSharedDbWorld(backend: TestBackend, options: { instances: number; gatewayClock: 'sandbox' | 'own'; env?: Record<string, string>; hotReadsNow?: () => number; changeWatch?: GatewayOptions['changeWatch'] }): Promise<SharedDbWorld> {
  const installKeys = (sharedKeys ??= createInstallKeys());
  const gateways: Gateway[] = [];
  const route: typeof fetch = async (input, init) => {
    const req = new Request(input, init);
    const origin = new URL(req.url).origin;
    if (origin === SANDBOX_ORIGIN) return sandbox.app.fetch(req);
    const first = gateways[0];
    if (origin === GATEWAY_ORIGIN && first) return first.app.fetch(req);
    throw new TypeError(`fetch failed: nothing listens at ${origin}`);
  };
  const start = Date.UTC(2026, 10, 27, 9, 0, 0);
  const sandbox = createSandbox({ origin: SANDBOX_ORIGIN, fetch: route, installKeys, clock: createManualClock(start) });
  const clock: Clock = options.gatewayClock === 'sandbox' ? sandbox.clock : createManualClock(start);
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-shared-'));
  const place = await backend.create();
  const env: Record<string, string> = { ONBEHALF_DATA_DIR: dir, ONBEHALF_BASE_URL: GATEWAY_ORIGIN, ONBEHALF_SANDBOX_URL: SANDBOX_ORIGIN, ONBEHALF_CONNECT_APP_KEY: 'com.example.onbehalf', ...options.env };
  if (place.config.kind === 'postgres') {
    env['DATABASE_URL'] = place.config.url;
    env['ONBEHALF_MASTER_KEYS'] = `k1:${randomBytes(32).toString('base64')}`;
  }
  // One 3LO client registered up front and configured on every instance, as in production: gateways that
  // each register a client of their own with the sandbox would trip over one another.
  const clientId = `onbehalf-shared-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(24).toString('base64url');
  sandbox.control.addOAuthClient({
    clientId,
    clientSecret,
    name: 'onbehalf (shared)',
    redirectUris: [`${GATEWAY_ORIGIN}/oauth/callback`],
    scopes: [...DEFAULT_OAUTH_SCOPES, 'offline_access'],
  });
  env['ONBEHALF_OAUTH_CLIENT_ID'] = clientId;
  env['ONBEHALF_OAUTH_CLIENT_SECRET'] = clientSecret;
  for (let i = 0; i < options.instances; i++) {
    const config = loadConfig({ ...env, ONBEHALF_ADMIN_SECRET: ADMIN_SECRET }, {}, dir);
    gateways.push(await createGateway(config, { fetch: route, logger: silentLogger(), clock, sleep: async () => {}, ...(options.hotReadsNow ? { hotReadsNow: options.hotReadsNow } : {}), ...(options.changeWatch ? { changeWatch: options.changeWatch } : {}) }));
  }
  const installed = await sandbox.control.installApp('acme', `${GATEWAY_ORIGIN}/atlassian-connect.json`);
  assert.ok(installed.ok, 'install');
  await sandbox.control.flushWebhooks();
  for (const g of gateways) await g.background.drain();
  return {
    sandbox,
    gateways,
    fetch: route,
    env,
    async close() {
      for (const g of gateways) await g.close();
      await place.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A user links by Atlassian sign-in (3LO) to a site through the first gateway: consent, then confirm. */
export async function linkByOAuth(w: SharedDbWorld, externalUserId: string, accountId: string, siteKey = 'acme'): Promise<void> {
  const gateway = w.gateways[0];
  assert.ok(gateway);
  const cloudId = w.sandbox.control.discovery().sites.find((s) => s.key === siteKey)?.cloudId ?? '';
  const session = await gateway.linking.sessions.start({ externalUserId, route: 'oauth', cloudId, returnUrl: 'https://app.example/back' });
  const ua = createUserAgent(w.fetch);
  await ua.signIn(SANDBOX_ORIGIN, accountId);
  const authorize = (await ua.fetch(session.url)).headers.get('location') ?? '';
  const page = await (await ua.fetch(authorize)).text();
  const nonce = /name="consent" value="([^"]+)"/.exec(page)?.[1] ?? '';
  const back = await ua.fetch(`${SANDBOX_ORIGIN}/authorize/decision`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ consent: nonce, decision: 'accept' }).toString() });
  const res = await ua.fetch(back.headers.get('location') ?? '');
  assert.equal(res.status, 302, await res.clone().text());
  const code = new URL(res.headers.get('location') ?? '').searchParams.get('onbehalf_code') ?? '';
  const link = await gateway.linking.sessions.confirm(session.id, code, { externalUserId });
  assert.equal(link.route, 'oauth');
}

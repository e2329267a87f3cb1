import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { createInstallKeys, type InstallKeys } from '../../src/sandbox/connect/create-install-keys.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/index.js';

export const GATEWAY_ORIGIN = 'http://gateway.test';
export const SANDBOX_ORIGIN = 'http://sandbox.test';

/** One RSA key pair for every world in a test file: generating one costs tens of milliseconds. */
let sharedKeys: InstallKeys | undefined;

export interface ConnectWorld {
  sandbox: Sandbox;
  gateway: Gateway;
  installKeys: InstallKeys;
  /** Routes requests between the two in process: what each side's outbound fetch is. */
  fetch: typeof fetch;
  /** Installs the gateway's Connect app into a sandbox site through the sandbox (real signed install). */
  install(siteKey?: string): Promise<{ clientKey: string; sharedSecret: string; oauthClientId: string | null; baseUrl: string }>;
  /** Lets every webhook and background task finish. */
  settle(): Promise<void>;
  /** Makes the next requests to one origin fail as if the host were down. */
  setDown(origin: string, down: boolean): void;
  close(): Promise<void>;
}

/**
 * The gateway and the sandbox wired together in one process, each one's outbound fetch answered by the
 * other's Hono app: whole Connect dances with no sockets, as in openauth's issuer tests.
 */
export async function createConnectWorld(env: Record<string, string> = {}): Promise<ConnectWorld> {
  const installKeys = (sharedKeys ??= createInstallKeys());
  const down = new Set<string>();
  let gateway: Gateway | undefined;
  const route: typeof fetch = async (input, init) => {
    const req = new Request(input, init);
    const origin = new URL(req.url).origin;
    if (down.has(origin)) throw new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') });
    if (origin === SANDBOX_ORIGIN) return sandbox.app.fetch(req);
    if (origin === GATEWAY_ORIGIN && gateway) return gateway.app.fetch(req);
    throw new TypeError(`fetch failed: nothing listens at ${origin}`);
  };
  // Time stands still unless a test advances it, so expiry checks never depend on how fast the machine is.
  const sandbox = createSandbox({ origin: SANDBOX_ORIGIN, fetch: route, installKeys, clock: createManualClock(Date.UTC(2026, 10, 27, 9, 0, 0)) });
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-world-'));
  const config = loadConfig(
    { ONBEHALF_DATA_DIR: dir, ONBEHALF_BASE_URL: GATEWAY_ORIGIN, ONBEHALF_SANDBOX_URL: SANDBOX_ORIGIN, ONBEHALF_CONNECT_APP_KEY: 'com.example.onbehalf', ...env },
    {},
    dir,
  );
  gateway = await createGateway(config, { fetch: route, logger: silentLogger(), clock: sandbox.clock, sleep: async () => {} });
  const gw = gateway;
  const settle = async () => {
    await sandbox.control.flushWebhooks();
    await gw.background.drain();
  };
  return {
    sandbox,
    gateway: gw,
    installKeys,
    fetch: route,
    async install(siteKey = 'acme') {
      const result = await sandbox.control.installApp(siteKey, `${GATEWAY_ORIGIN}/atlassian-connect.json`);
      if (!result.ok) throw new Error(`install failed: ${result.code} ${result.message}`);
      await settle();
      const i = result.install;
      return { clientKey: i.clientKey, sharedSecret: i.sharedSecret, oauthClientId: i.oauthClientId, baseUrl: sandbox.control.discovery().sites.find((s) => s.key === siteKey)?.baseUrl ?? '' };
    },
    settle,
    setDown(origin, isDown) {
      if (isDown) down.add(origin);
      else down.delete(origin);
    },
    async close() {
      await gw.close();
    },
  };
}

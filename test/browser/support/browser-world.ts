import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../src/cli/free-port.js';
import { loadConfig } from '../../../src/config.js';
import { createGateway, type Gateway } from '../../../src/gateway.js';
import { silentLogger } from '../../../src/logger.js';
import { startSandboxServer, type SandboxServer } from '../../../src/sandbox/index.js';

/**
 * What `onbehalf up` runs, on real loopback sockets: the sandbox, the gateway (SQLite file in a temp
 * folder) with its Connect app installed on the sandbox's "acme" site, an API key, and a tiny stand-in
 * for "your app" that link sessions return to.
 */
export interface BrowserWorld {
  sandbox: SandboxServer;
  gateway: Gateway;
  gatewayUrl: string;
  sandboxUrl: string;
  /** Origin of the stand-in app; its pages echo the query they were opened with. */
  appUrl: string;
  /** The sites the gateway's Connect app is installed on, by key (acme always; globex when asked). */
  sites: Record<string, { key: string; cloudId: string; baseUrl: string }>;
  site: { key: string; cloudId: string; baseUrl: string };
  /**
   * Moves the gateway's clock (only the gateway's: the sandbox keeps real time). For expiry pages; put it
   * back with setGatewayClockOffset(0) before loading pages inside Confluence, whose JWTs carry real times.
   */
  setGatewayClockOffset(ms: number): void;
  apiKey: string;
  /** Calls the gateway's /v1 API with the world's API key; answers the parsed JSON and the status. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export interface BrowserWorldOptions {
  /** Sites to install the Connect app on; default ['acme']. */
  sites?: string[];
  env?: Record<string, string>;
}

export async function startBrowserWorld(options: BrowserWorldOptions = {}): Promise<BrowserWorld> {
  const env = options.env ?? {};
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  const cleanups: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn();
  };
  try {
    const app = await startStandInApp();
    cleanups.push(() => new Promise<void>((resolve) => app.server.close(() => resolve())));
    const sandbox = await startSandboxServer({ port: 0 });
    cleanups.push(() => sandbox.close());
    const dir = mkdtempSync(join(tmpdir(), 'onbehalf-browser-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // The descriptor carries the gateway's URL, so the port is picked before the gateway starts (as `up` does).
    const port = await freePort('127.0.0.1');
    // The gateway is addressed as localhost and the sandbox as 127.0.0.1: two sites, so the consent page is a
    // cross-site frame inside Confluence as in real life (acme.atlassian.net framing your gateway's host),
    // where the browser sends it no cookies of its own.
    const config = loadConfig(
      { ONBEHALF_DATA_DIR: dir, ONBEHALF_HOST: '127.0.0.1', ONBEHALF_PORT: String(port), ONBEHALF_BASE_URL: `http://localhost:${port}`, ONBEHALF_SANDBOX_URL: sandbox.url, ...env },
      {},
      dir,
    );
    const gateway = await createGateway(config, { logger: silentLogger(), clock });
    cleanups.push(() => gateway.close());
    await gateway.listen();
    const gatewayUrl = config.server.baseUrl;
    const sites: BrowserWorld['sites'] = {};
    for (const key of options.sites ?? ['acme']) {
      const site = sandbox.sandbox.control.discovery().sites.find((s) => s.key === key);
      if (!site) throw new Error(`the default sandbox seed has no "${key}" site`);
      const installed = await sandbox.sandbox.control.installApp(site.key, `${gatewayUrl}/atlassian-connect.json`);
      if (!installed.ok) throw new Error(`installing the gateway into the sandbox failed: ${installed.code} ${installed.message}`);
      await sandbox.sandbox.control.flushWebhooks();
      await gateway.background.drain();
      sites[key] = { key: site.key, cloudId: site.cloudId, baseUrl: site.baseUrl };
    }
    const first = Object.values(sites)[0];
    if (!first) throw new Error('install the app on at least one site');
    const { secret } = await gateway.repos.apiKeys.create({ name: 'browser-tests' });
    return {
      sandbox,
      gateway,
      gatewayUrl,
      sandboxUrl: sandbox.url,
      appUrl: app.url,
      sites,
      site: first,
      setGatewayClockOffset(ms: number) {
        offset = ms;
      },
      apiKey: secret,
      async api<T>(method: string, path: string, body?: unknown) {
        const res = await fetch(`${gatewayUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** "Your app": answers every GET with a page showing the query, as an app's return URL handler would see it. */
async function startStandInApp(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const rows = [...url.searchParams].map(([k, v]) => `<li><code>${escape(k)}</code> = <code data-param="${escape(k)}">${escape(v)}</code></li>`).join('');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Your app</title></head><body><h1>Back in your app</h1><ul>${rows}</ul></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { createGateway, type Gateway } from '../../../src/gateway.js';
import { silentLogger } from '../../../src/logger.js';
import { createInstallKeys, type InstallKeys } from '../../../src/sandbox/connect/create-install-keys.js';
import { createSandbox, type Sandbox } from '../../../src/sandbox/index.js';
import { createUserAgent, parseHostPage } from '../../support/user-agent.js';

export const GATEWAY_ORIGIN = 'http://gateway.test';
export const SANDBOX_ORIGIN = 'http://sandbox.test';
export const EVIL_ORIGIN = 'http://evil.test';

let sharedKeys: InstallKeys | undefined;

export interface OutboundCall {
  method: string;
  url: string;
  headers: Headers;
}

export interface ApiWorld {
  sandbox: Sandbox;
  gateway: Gateway;
  /** Every outbound request the gateway made, in order (its call log). */
  outbound: OutboundCall[];
  /** Answers an outbound request before it reaches the sandbox (redirect tricks, fault shapes). */
  intercept: ((req: Request) => Response | undefined) | undefined;
  fetch: typeof fetch;
  cloudId: string;
  setDown(origin: string, down: boolean): void;
  settle(): Promise<void>;
  /** A fresh API key (optionally limited to sites); returns the secret. */
  apiKey(sites?: string[]): Promise<string>;
  close(): Promise<void>;
}

/**
 * The gateway and the sandbox in one process, as in test/support/connect-world.ts, with an outbound call
 * log and an interception hook so a test can prove what the proxy did (and did not) reach.
 */
export async function createApiWorld(env: Record<string, string> = {}): Promise<ApiWorld> {
  const installKeys = (sharedKeys ??= createInstallKeys());
  const down = new Set<string>();
  let gateway: Gateway | undefined;
  const world = { outbound: [] as OutboundCall[], intercept: undefined as ApiWorld['intercept'] };
  const route: typeof fetch = async (input, init) => {
    const req = new Request(input, init);
    const origin = new URL(req.url).origin;
    if (origin !== GATEWAY_ORIGIN) world.outbound.push({ method: req.method, url: req.url, headers: new Headers(req.headers) });
    if (down.has(origin)) throw new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') });
    const hooked = world.intercept?.(req);
    if (hooked) return hooked;
    if (origin === SANDBOX_ORIGIN) return sandbox.app.fetch(req);
    if (origin === GATEWAY_ORIGIN && gateway) return gateway.app.fetch(req);
    throw new TypeError(`fetch failed: nothing listens at ${origin}`);
  };
  const sandbox = createSandbox({ origin: SANDBOX_ORIGIN, fetch: route, installKeys, clock: createManualClock(Date.UTC(2026, 10, 27, 9, 0, 0)) });
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-api-'));
  const config = loadConfig({ ONBEHALF_DATA_DIR: dir, ONBEHALF_BASE_URL: GATEWAY_ORIGIN, ONBEHALF_SANDBOX_URL: SANDBOX_ORIGIN, ONBEHALF_CONNECT_APP_KEY: 'com.example.onbehalf', ...env }, {}, dir);
  // The 1 s memory of hot reads runs on the sandbox clock too, so a test steps over it instead of waiting.
  gateway = await createGateway(config, { fetch: route, logger: silentLogger(), clock: sandbox.clock, sleep: async () => {}, hotReadsNow: () => sandbox.clock.now() });
  const gw = gateway;
  const settle = async (): Promise<void> => {
    await sandbox.control.flushWebhooks();
    await gw.background.drain();
  };
  const installed = await sandbox.control.installApp('acme', `${GATEWAY_ORIGIN}/atlassian-connect.json`);
  if (!installed.ok) throw new Error(`install failed: ${installed.message}`);
  await settle();
  const cloudId = sandbox.control.discovery().sites.find((s) => s.key === 'acme')?.cloudId ?? '';
  return Object.assign(world, {
    sandbox,
    gateway: gw,
    fetch: route,
    cloudId,
    settle,
    setDown(origin: string, isDown: boolean) {
      if (isDown) down.add(origin);
      else down.delete(origin);
    },
    async apiKey(sites?: string[]) {
      return (await gw.repos.apiKeys.create({ name: `k-${Math.random().toString(36).slice(2)}`, sites: sites ?? null })).secret;
    },
    close: () => gw.close(),
  });
}

/**
 * What a person does with a link URL: sign in to Confluence (the sandbox), open the link, see the consent
 * page inside Confluence, click Allow. Returns the return-URL query the app's backend receives.
 */
export async function clickAllow(fetchImpl: typeof fetch, sandboxOrigin: string, accountId: string, linkUrl: string, decision: 'allow' | 'deny' = 'allow'): Promise<{ status: string; code: string | null; redirectUrl: string | null }> {
  const ua = createUserAgent(fetchImpl);
  await ua.signIn(sandboxOrigin, accountId);
  const toSite = await ua.fetch(linkUrl);
  assert.equal(toSite.status, 302, `the link URL redirects into Confluence (got ${toSite.status})`);
  const host = await ua.fetch(new URL(toSite.headers.get('location') ?? '', linkUrl).href);
  assert.equal(host.status, 200);
  const { iframeSrc, contextTokenUrl } = parseHostPage(await host.text());
  const page = await ua.fetch(iframeSrc);
  const html = await page.text();
  assert.equal(page.status, 200, html);
  const ctx = (await (await ua.fetch(new URL(contextTokenUrl, iframeSrc).href, { method: 'POST' })).json()) as { token: string };
  const session = /data-session="([^"]*)"/.exec(html)?.[1] ?? '';
  const res = await ua.fetch(`${new URL(iframeSrc).origin}/connect/link/decide`, {
    method: 'POST',
    headers: { Authorization: `JWT ${ctx.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ session, decision }),
  });
  const body = (await res.json()) as { status: string; redirectUrl?: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  const redirectUrl = body.redirectUrl ?? null;
  return { status: body.status, code: redirectUrl ? new URL(redirectUrl).searchParams.get('onbehalf_code') : null, redirectUrl };
}

/** A minimal third-party-style Confluence client: it takes a base URL and a bearer token, nothing else. */
export function tinyConfluenceClient(baseUrl: string, token: string, fetchImpl: typeof fetch = fetch) {
  const call = async (path: string, init: RequestInit = {}): Promise<Record<string, unknown>> => {
    const res = await fetchImpl(`${baseUrl}${path}`, { ...init, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
    if (!res.ok) throw new Error(`Confluence answered ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  };
  return {
    currentUser: () => call('/rest/api/user/current') as Promise<{ accountId: string }>,
    createPage: (spaceId: string, title: string, html: string) =>
      call('/api/v2/pages', { method: 'POST', body: JSON.stringify({ spaceId, title, body: { representation: 'storage', value: html } }) }) as Promise<{ id: string; authorId: string }>,
  };
}

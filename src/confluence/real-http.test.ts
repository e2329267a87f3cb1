import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createManualClock, systemClock } from '../clock.js';
import { isGatewayError } from '../errors.js';
import { startSandboxServer, type SandboxServer } from '../sandbox/index.js';
import { createActAsClient } from './create-act-as-client.js';
import { paginate } from './paginate.js';

/**
 * The same client with the platform's own fetch over real loopback sockets: `redirect: 'manual'`
 * really yields the 3xx, a destroyed socket really is a network error, and nothing leaks to a second
 * server that a redirect points at.
 */

const ALICE = `Basic ${Buffer.from('alice@acme.example:alice-api-token').toString('base64')}`;

function listen(handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

describe('over real HTTP: the sandbox server', { timeout: 60_000 }, () => {
  let srv: SandboxServer;
  before(async () => {
    srv = await startSandboxServer();
  }, { timeout: 120_000 });
  after(async () => srv.close(), { timeout: 120_000 });

  const client = (sleeps: number[]) =>
    createActAsClient(
      { fetch, clock: systemClock, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
      { apiBaseUrl: `${srv.url}/s/acme/wiki`, credential: async () => ({ authorization: ALICE }) },
    );

  test('429 then success, and a paged listing', async () => {
    const sleeps: number[] = [];
    srv.sandbox.control.faults.add({ kind: 'error', match: { pathPrefix: '/s/acme/wiki/api/v2/pages' }, status: 429, retryAfterSeconds: 2, times: 1 });
    const items: unknown[] = [];
    for await (const p of paginate(client(sleeps), '/api/v2/pages?limit=2')) items.push(p);
    assert.ok(items.length >= 5);
    assert.deepEqual(sleeps, [2000]);
  });

  test('a destroyed connection is a network error: retried for GET, thrown as ATLASSIAN_UNAVAILABLE when it persists', async () => {
    const sleeps: number[] = [];
    srv.sandbox.control.faults.add({ id: 'drop-once', kind: 'drop', match: { pathPrefix: '/s/acme/wiki/rest/api/user/current' }, times: 1 });
    const res = await client(sleeps).fetch('/rest/api/user/current');
    assert.equal(res.status, 200);
    assert.equal(sleeps.length, 1);

    srv.sandbox.control.faults.add({ id: 'drop-always', kind: 'drop', match: { pathPrefix: '/s/acme/wiki/api/v2/spaces' } });
    await assert.rejects(client([]).fetch('/api/v2/spaces'), (e) => isGatewayError(e, 'ATLASSIAN_UNAVAILABLE') && e.details?.['attempts'] === 4);
    srv.sandbox.control.faults.remove('drop-always');
  });
});

describe('over real HTTP: redirects with the platform fetch', { timeout: 60_000 }, () => {
  let site: { server: Server; url: string };
  let other: { server: Server; url: string };
  const otherSaw: (string | undefined)[] = [];
  const siteSaw: { path: string; auth: string | undefined }[] = [];

  before(async () => {
    other = await listen((req, res) => {
      otherSaw.push(req.headers.authorization);
      res.end('stolen');
    });
    site = await listen((req, res) => {
      siteSaw.push({ path: req.url ?? '', auth: req.headers.authorization });
      if (req.url === '/wiki/a') return void res.writeHead(302, { location: '/wiki/b' }).end();
      if (req.url === '/wiki/elsewhere') return void res.writeHead(302, { location: `${other.url}/steal` }).end();
      if (req.url === '/wiki/up') return void res.writeHead(301, { location: '/admin' }).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }));
    });
  }, { timeout: 120_000 });
  after(async () => {
    await close(site.server);
    await close(other.server);
  }, { timeout: 120_000 });

  const client = () =>
    createActAsClient(
      { fetch, clock: createManualClock(), sleep: async () => undefined },
      { apiBaseUrl: `${site.url}/wiki`, credential: async ({ apiPath }) => ({ authorization: `Bearer for-${apiPath.slice(1)}` }) },
    );

  test('same origin under the base: followed with a credential made for the new URL', async () => {
    siteSaw.length = 0;
    const res = await client().fetch('/a');
    assert.deepEqual(await res.json(), { path: '/wiki/b' });
    assert.deepEqual(siteSaw, [
      { path: '/wiki/a', auth: 'Bearer for-a' },
      { path: '/wiki/b', auth: 'Bearer for-b' },
    ]);
  });

  test('another origin or outside the base: the 3xx is returned, nothing reaches the other server', async () => {
    const away = await client().fetch('/elsewhere');
    assert.equal(away.status, 302);
    assert.equal(away.headers.get('location'), `${other.url}/steal`);
    const up = await client().fetch('/up');
    assert.equal(up.status, 301);
    assert.deepEqual(otherSaw, []);
    assert.ok(!siteSaw.some((s) => s.path === '/admin'));
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../config.js';
import { createGateway, type Gateway } from '../gateway.js';
import { silentLogger } from '../logger.js';
import { OnbehalfApiError, createClient } from './index.js';

describe('SDK client against a real gateway on loopback', () => {
  let gw: Gateway;
  let url: string;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onbehalf-client-'));
    gw = await createGateway(loadConfig({ ONBEHALF_DATA_DIR: dir, ONBEHALF_PORT: '0' }, {}, dir), { logger: silentLogger() });
    url = (await gw.listen()).url;
  }, { timeout: 120_000 });
  after(async () => {
    await gw.close();
  }, { timeout: 120_000 });

  test('health and readiness', { timeout: 180_000 }, async () => {
    const client = createClient({ baseUrl: url, apiKey: 'obk_test' });
    assert.equal((await client.health()).status, 'ok');
    assert.equal((await client.ready()).status, 'ready');
  });

  test('error envelopes become OnbehalfApiError with code, status and request id', { timeout: 180_000 }, async () => {
    const client = createClient({
      baseUrl: url,
      apiKey: 'obk_test',
      // Point health() at a path that does not exist to receive the gateway's real 404 envelope.
      fetch: (input, init) => fetch(String(input).replace('/healthz', '/nope'), init),
    });
    await assert.rejects(client.health(), (e: unknown) => e instanceof OnbehalfApiError && e.status === 404 && e.code === 'NOT_FOUND' && typeof e.requestId === 'string');
  });

  test('bad options are refused at construction', { timeout: 180_000 }, () => {
    assert.throws(() => createClient({ baseUrl: 'not a url', apiKey: 'k' }), /absolute URL/);
    assert.throws(() => createClient({ baseUrl: 'ftp://x', apiKey: 'k' }), /http/);
    assert.throws(() => createClient({ baseUrl: 'http://x', apiKey: '' }), /apiKey is required/);
  });
});

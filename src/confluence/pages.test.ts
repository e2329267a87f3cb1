import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../clock.js';
import { isGatewayError } from '../errors.js';
import { createSandbox, DEFAULT_ACCOUNTS, DEFAULT_OAUTH_CLIENT } from '../sandbox/index.js';
import { createActAsClient } from './create-act-as-client.js';
import { createPage, getCurrentUser, getPage, listSpaces, updatePage } from './pages.js';
import { confluenceError, confluenceErrorDetails, errorCodeForStatus } from './process-confluence-response.js';

const basic = (email: string, token: string) => `Basic ${Buffer.from(`${email}:${token}`).toString('base64')}`;
const ALICE = basic('alice@acme.example', 'alice-api-token');
const BOB = basic('bob@acme.example', 'bob-api-token-0');
const ENG = '65537';

function setup() {
  const clock = createManualClock(Date.UTC(2026, 5, 1));
  const sb = createSandbox({ clock });
  const d = sb.control.discovery();
  const acme = d.sites.find((s) => s.key === 'acme')!;
  const as = (authorization: string, apiBaseUrl = acme.baseUrl) =>
    createActAsClient({ fetch: sb.fetch, clock, sleep: async () => undefined, random: () => 0.5 }, { apiBaseUrl, credential: async () => ({ authorization }) });
  return { sb, d, acme, as };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('typed helpers against the sandbox', () => {
  test('getCurrentUser: camelCase domain user; a hidden email becomes null', async () => {
    const { as } = setup();
    const alice = await getCurrentUser(as(ALICE));
    assert.deepEqual(alice, {
      accountId: DEFAULT_ACCOUNTS.alice,
      accountType: 'atlassian',
      displayName: 'Alice Admin',
      publicName: alice.publicName,
      email: 'alice@acme.example',
      timeZone: 'Europe/Berlin',
    });
    const bob = await getCurrentUser(as(BOB));
    assert.equal(bob.accountId, DEFAULT_ACCOUNTS.bob);
    assert.equal(bob.email, null);
  });

  test('createPage shows the acting user as author; getPage reads it back with its storage body', async () => {
    const { as } = setup();
    const bob = as(BOB);
    const created = await createPage(bob, { spaceId: ENG, title: 'Written by Bob', body: '<p>Hello from Bob</p>' });
    assert.equal(created.authorId, DEFAULT_ACCOUNTS.bob);
    assert.equal(created.version.authorId, DEFAULT_ACCOUNTS.bob);
    assert.equal(created.version.number, 1);
    assert.equal(created.spaceId, ENG);
    const read = await getPage(as(ALICE), created.id);
    assert.equal(read.title, 'Written by Bob');
    assert.equal(read.bodyStorage, '<p>Hello from Bob</p>');
    assert.equal(read.authorId, DEFAULT_ACCOUNTS.bob);
    assert.ok(read.webUrl?.includes(`/pages/${created.id}/`));
  });

  test('createPage over 3LO (gateway base) acts as the user who consented', async () => {
    const { sb, d, acme, as } = setup();
    const code = sb.control.issueAuthorizationCode({
      clientId: DEFAULT_OAUTH_CLIENT.clientId,
      accountId: DEFAULT_ACCOUNTS.carol,
      redirectUri: 'http://127.0.0.1/callback',
      scopes: ['read:page:confluence', 'write:page:confluence'],
    });
    const res = await sb.fetch(d.endpoints.token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'authorization_code', client_id: DEFAULT_OAUTH_CLIENT.clientId, client_secret: DEFAULT_OAUTH_CLIENT.clientSecret, code, redirect_uri: 'http://127.0.0.1/callback' }),
    });
    const { access_token } = (await res.json()) as { access_token: string };
    const carol = as(`Bearer ${access_token}`, acme.gatewayBaseUrl);
    const page = await createPage(carol, { spaceId: ENG, title: 'Carol via 3LO', body: '<p>c</p>', parentId: '98306' });
    assert.equal(page.authorId, DEFAULT_ACCOUNTS.carol);
    assert.equal(page.parentId, '98306');
  });

  test('updatePage writes the next version; a stale version is CONFLICT with Confluence’s message', async () => {
    const { as } = setup();
    const alice = as(ALICE);
    const page = await createPage(alice, { spaceId: ENG, title: 'Versioned', body: '<p>v1</p>' });
    const updated = await updatePage(as(BOB), { id: page.id, title: 'Versioned (edited)', body: '<p>v2</p>', version: 2, versionMessage: 'Bob edits' });
    assert.equal(updated.version.number, 2);
    assert.equal(updated.version.authorId, DEFAULT_ACCOUNTS.bob);
    assert.equal(updated.version.message, 'Bob edits');
    assert.equal((await getPage(alice, page.id)).bodyStorage, '<p>v2</p>');
    await assert.rejects(updatePage(alice, { id: page.id, title: 'Stale', body: '<p>x</p>', version: 2 }), (e) => {
      assert.ok(isGatewayError(e, 'CONFLICT'));
      assert.equal(e.details?.['status'], 409);
      assert.match(String(e.details?.['message']), /current version plus one/);
      return true;
    });
  });

  test('not found and not visible are NOT_FOUND; no credential in the error', async () => {
    const { as } = setup();
    for (const [client, id] of [
      [as(ALICE), '99999999'],
      [as(BOB), '98308'],
    ] as const) {
      await assert.rejects(getPage(client, id), (e) => {
        assert.ok(isGatewayError(e, 'NOT_FOUND'));
        assert.equal(e.details?.['status'], 404);
        const all = JSON.stringify({ m: e.message, d: e.details });
        assert.ok(!all.includes('api-token') && !all.includes('Basic ') && !all.toLowerCase().includes('authorization'), all);
        return true;
      });
    }
  });

  test('a 401 after the refresh becomes ATLASSIAN_ERROR with status 401', async () => {
    const { as } = setup();
    await assert.rejects(getCurrentUser(as(basic('alice@acme.example', 'wrong'))), (e) => isGatewayError(e, 'ATLASSIAN_ERROR') && e.details?.['status'] === 401);
  });

  test('createPage in a space the user cannot write is NOT_FOUND (Confluence hides it)', async () => {
    const { as } = setup();
    await assert.rejects(createPage(as(BOB), { spaceId: '65538', title: 'HR secret', body: '<p>x</p>' }), (e) => isGatewayError(e, 'NOT_FOUND'));
  });

  test('arguments are checked before sending', async () => {
    const { as } = setup();
    const alice = as(ALICE);
    await assert.rejects(getPage(alice, '../98305'), (e) => isGatewayError(e, 'BAD_REQUEST'));
    await assert.rejects(createPage(alice, { spaceId: ENG, title: '  ', body: '' }), (e) => isGatewayError(e, 'BAD_REQUEST'));
    await assert.rejects(updatePage(alice, { id: '98305', title: 't', body: '', version: 1 }), (e) => isGatewayError(e, 'BAD_REQUEST'));
  });

  test('listSpaces: what the acting user can see, across several pages', async () => {
    const { sb, as } = setup();
    for (let i = 0; i < 5; i++) sb.control.addSpace('acme', { key: `S${i}`, name: `Space ${i}` });
    const alice = await collect(listSpaces(as(ALICE), { limit: 2 }));
    const bob = await collect(listSpaces(as(BOB), { limit: 2 }));
    assert.deepEqual(alice.map((s) => s.key), ['ENG', 'HR', 'S0', 'S1', 'S2', 'S3', 'S4']);
    assert.deepEqual(bob.map((s) => s.key), ['ENG', 'S0', 'S1', 'S2', 'S3', 'S4'], 'HR is for the hr group');
    assert.equal(alice[0]!.id, ENG);
    assert.equal(typeof alice[0]!.homepageId, 'string');
  });
});

describe('error mapping', () => {
  const codes: Array<[number, string]> = [
    [400, 'BAD_REQUEST'],
    [401, 'ATLASSIAN_ERROR'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [409, 'CONFLICT'],
    [413, 'PAYLOAD_TOO_LARGE'],
    [429, 'RATE_LIMITED'],
    [500, 'ATLASSIAN_UNAVAILABLE'],
    [503, 'ATLASSIAN_UNAVAILABLE'],
    [302, 'ATLASSIAN_ERROR'],
    [418, 'ATLASSIAN_ERROR'],
  ];
  for (const [status, code] of codes) test(`${status} → ${code}`, () => assert.equal(errorCodeForStatus(status), code));

  test('Confluence messages: v2 errors array, v1 message, anything else', () => {
    assert.deepEqual(confluenceErrorDetails({ errors: [{ status: 404, code: 'NOT_FOUND', title: 'Not Found', detail: null }] }), {
      message: 'Not Found',
      errors: [{ code: 'NOT_FOUND', title: 'Not Found', detail: null }],
    });
    assert.deepEqual(confluenceErrorDetails({ statusCode: 400, message: 'Title is required' }), { message: 'Title is required' });
    assert.deepEqual(confluenceErrorDetails('<html>'), { message: null });
    assert.equal(confluenceErrorDetails({ message: 'x'.repeat(2000) }).message?.length, 501);
  });

  test('429 carries retryAfterMs; headers never appear in the error', async () => {
    const res = Response.json(
      { code: 429, message: 'Rate limit exceeded.' },
      { status: 429, headers: { 'retry-after': '12', 'set-cookie': 'secret-cookie=1', 'x-secret': 'token-abc' } },
    );
    const e = await confluenceError(res, 'GET /api/v2/pages', createManualClock());
    assert.equal(e.code, 'RATE_LIMITED');
    assert.equal(e.details?.['retryAfterMs'], 12_000);
    assert.equal(e.details?.['message'], 'Rate limit exceeded.');
    assert.ok(!JSON.stringify(e).includes('secret') && !JSON.stringify(e).includes('token-abc'));
  });

  test('scope mismatch 401 is marked', async () => {
    const e = await confluenceError(Response.json({ code: 401, message: 'Unauthorized; scope does not match' }, { status: 401 }), 'GET /rest/api/user/current');
    assert.equal(e.details?.['reason'], 'scope_mismatch');
  });
});

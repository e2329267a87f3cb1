import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { freePort } from '../../src/cli/free-port.js';
import { loadConfig } from '../../src/config.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { createConsoleAgent } from '../support/console-agent.js';
import { silentLogger } from '../../src/logger.js';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { exampleForgeManifest, EXAMPLE_APP_ID, EXAMPLE_SCOPES } from '../../src/sandbox/forge/example-manifest.js';
import type { ForgeInstallation } from '../../src/sandbox/forge/forge-types.js';
import { startForgeWorld, type ForgeWorld } from '../../src/sandbox/testing/forge-test-kit.js';
import { createForgeEmailIndex } from '../../src/identity/forge-email-index.js';
import { createEmailHasher } from '../../src/store/email-hasher.js';
import { createForgeInstallations, systemTokenKey } from '../../src/tenants/forge-installation.js';
import { loadKeyring } from '../../src/store/keyring.js';
import { testBackends, type TestBackend } from '../../src/store/test-support/backends.js';

/**
 * Resolve by email on a Forge site, over real HTTP: the sandbox (a real server) installs the Forge app whose
 * remote is the gateway (a real server); the gateway enumerates the site's users with the app system token,
 * asks the email API as the app, and keeps keyed hashes only. Runs on SQLite and PostgreSQL.
 */

const EMAILS = ['alice@acme.example', 'bob@acme.example', 'carol@acme.example', 'dave@acme.example', 'newbie@acme.example', 'frank@globex.example', 'nobody@acme.example'];

interface World {
  w: ForgeWorld;
  gateway: Gateway;
  url: string;
  cloudId: string;
  inst: ForgeInstallation;
  key: string;
  api(method: string, path: string, body?: unknown): Promise<Response>;
  settle(): Promise<void>;
  close(): Promise<void>;
}

async function world(backend: TestBackend, options: { scopes?: Record<string, boolean>; adminSecret?: string } = {}): Promise<World> {
  const w = await startForgeWorld();
  const place = await backend.create();
  let gateway: Gateway | undefined;
  // A world that fails half-way must not leave its servers running (the test file would never end).
  const close = async () => {
    await gateway?.close();
    await w.close();
    await place.cleanup();
  };
  try {
    return await build(w, place, (g) => (gateway = g), close, options);
  } catch (e) {
    await close();
    throw e;
  }
}

async function build(
  w: ForgeWorld,
  place: Awaited<ReturnType<TestBackend['create']>>,
  keep: (g: Gateway) => void,
  close: () => Promise<void>,
  options: { scopes?: Record<string, boolean>; adminSecret?: string },
): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'onbehalf-forge-email-'));
  const port = await freePort('127.0.0.1');
  // PostgreSQL has no embedded key file: the keys come inline, as a deployment with several instances does.
  const db: Record<string, string> =
    place.config.kind === 'postgres'
      ? { DATABASE_URL: place.config.url, ONBEHALF_DATABASE_SCHEMA: place.config.schema, ONBEHALF_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}` }
      : { ONBEHALF_SQLITE_FILE: place.config.file };
  const config = loadConfig(
    { ONBEHALF_DATA_DIR: dir, ONBEHALF_PORT: String(port), ONBEHALF_SANDBOX_URL: w.sb.url, ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID, ...db, ...(options.adminSecret ? { ONBEHALF_ADMIN_SECRET: options.adminSecret } : {}) },
    {},
    dir,
  );
  // The sandbox's clock for both, so "the system token expired" is a step of that clock, not a wait.
  const gateway = await createGateway(config, { logger: silentLogger(), clock: w.sb.sandbox.clock });
  keep(gateway);
  const url = (await gateway.listen()).url;
  const settle = async () => {
    await w.sb.sandbox.forge.deliveries.flush();
    await gateway.background.drain();
  };
  const installed = await w.sb.sandbox.forge.install('acme', { manifest: exampleForgeManifest({ baseUrl: url, ...(options.scopes ? { scopes: options.scopes } : {}) }) });
  assert.ok(installed.ok, JSON.stringify(installed));
  await settle();
  const cloudId = w.sb.sandbox.control.discovery().sites.find((s) => s.key === 'acme')?.cloudId ?? '';
  const key = (await gateway.repos.apiKeys.create({ name: 'backend', sites: null })).secret;
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return {
    w,
    gateway,
    url,
    cloudId,
    inst: installed.value,
    key,
    api,
    settle,
    close,
  };
}

type Result = { email: string; status: string; accountId?: string; via?: string; reason?: string; linkUrl?: string | null; linkSessionId?: string | null; externalUserId?: string | null };
const resolve = async (x: World, users: { email: string; externalUserId?: string }[]) => {
  const res = await x.api('POST', '/v1/resolve', { site: x.cloudId, users });
  const body = (await res.json()) as { results?: Result[]; error?: { code: string; message: string; details?: Record<string, unknown> } };
  return { status: res.status, body };
};

/** Every row of every table the gateway keeps, as text (what a database dump would show). */
async function allRows(gateway: Gateway): Promise<string> {
  const tables = ['tenants', 'oauth_apps', 'links', 'link_sessions', 'known_accounts', 'tokens', 'audit_events', 'events', 'api_keys', 'policies', 'admin_sessions', 'token_mints', 'refresh_leases', 'webhook_replays', 'email_index', 'email_index_sites'] as const;
  const out: string[] = [];
  for (const t of tables) out.push(JSON.stringify(await gateway.store.db.selectFrom(t).selectAll().execute()));
  return out.join('\n');
}

async function counts(gateway: Gateway): Promise<Record<string, number>> {
  const n = async (t: 'email_index' | 'link_sessions' | 'audit_events' | 'links') => Number((await gateway.store.db.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return { email_index: await n('email_index'), link_sessions: await n('link_sessions'), audit_events: await n('audit_events'), links: await n('links') };
}

for (const backend of testBackends()) {
  describe(`resolve by email on a Forge site (${backend.name})`, { timeout: 240_000 }, () => {
    test('hidden emails resolve through the index; unknown emails come back with a link URL; a new user is found after a product event; no plaintext email is stored', async (t) => {
      const x = await world(backend);
      t.after(() => x.close());
      // The lifecycle event already built the index (one bounded step covers the sandbox site).
      const state = await x.gateway.repos.emailIndex.site(x.cloudId);
      assert.ok(state?.lastPassAt, 'the installed event ran a full pass');
      assert.equal(state.lastError, null);

      const first = await resolve(x, [
        { email: 'Alice@Acme.example' },
        { email: 'bob@acme.example' },
        { email: 'dave@acme.example', externalUserId: 'crm-dave' },
        { email: 'nobody@acme.example', externalUserId: 'crm-nobody' },
        { email: 'frank@globex.example' },
      ]);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const [alice, bob, dave, nobody, frank] = first.body.results ?? [];
      assert.deepEqual(alice, { email: 'Alice@Acme.example', status: 'resolved', accountId: DEFAULT_ACCOUNTS.alice, via: 'email_index', externalUserId: null });
      assert.deepEqual(bob, { email: 'bob@acme.example', status: 'resolved', accountId: DEFAULT_ACCOUNTS.bob, via: 'email_index', externalUserId: null }, 'Bob hides his email from search; the email API as the app still knows it');
      assert.equal(dave?.accountId, DEFAULT_ACCOUNTS.dave, 'hidden too');
      assert.equal(nobody?.status, 'unresolved');
      assert.equal(nobody?.reason, 'no_evidence');
      assert.match(nobody?.linkUrl ?? '', /\/link\/obl_/, 'an unknown email of a named user gets a link session URL');
      assert.deepEqual(frank, { email: 'frank@globex.example', status: 'unresolved', reason: 'no_evidence', linkUrl: null, linkSessionId: null }, "another site's user is not on this one");
      const session = await x.gateway.repos.linkSessions.get(nobody?.linkSessionId ?? '');
      assert.equal(session?.emailHint, null, 'the email is not copied into the link session');

      // A user who joins the site later is unknown until a product event names them; then found at once.
      x.w.sb.sandbox.control.addUser({ displayName: 'New Person', email: 'newbie@acme.example', emailVisible: false, sites: ['acme'], groups: ['confluence-users'], apiToken: 'newbie-token' });
      const newbieId = x.w.sb.sandbox.control.discovery().users.find((u) => u.email === 'newbie@acme.example')?.accountId ?? '';
      assert.equal((await resolve(x, [{ email: 'newbie@acme.example' }])).body.results?.[0]?.status, 'unresolved');
      const site = x.w.sb.sandbox.control.discovery().sites.find((s) => s.key === 'acme');
      const created = await fetch(`${site?.baseUrl}/api/v2/pages`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('newbie@acme.example:newbie-token').toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ spaceId: '65537', title: 'Hello from the new person', body: { representation: 'storage', value: '<p>hi</p>' } }),
      });
      assert.equal(created.status, 200, await created.clone().text());
      await x.settle();
      const after = await resolve(x, [{ email: 'NEWBIE@acme.example', externalUserId: 'crm-newbie' }]);
      assert.deepEqual(after.body.results?.[0], { email: 'NEWBIE@acme.example', status: 'resolved', accountId: newbieId, via: 'email_index', externalUserId: null });

      // Nothing the gateway stored spells an email: not the rows, and (SQLite) not the bytes of its files.
      const rows = (await allRows(x.gateway)).toLowerCase();
      const hashes = await x.gateway.store.db.selectFrom('email_index').select(['account_id', 'email_hash']).where('email_hash', 'is not', null).execute();
      assert.ok(hashes.length >= 4, 'the index holds hashes');
      for (const email of EMAILS) assert.ok(!rows.includes(email), `${email} appears in a row`);
      if (backend.name === 'sqlite') {
        const dir = x.gateway.config.database.kind === 'sqlite' ? join(x.gateway.config.database.file, '..') : '';
        await sql`pragma wal_checkpoint(TRUNCATE)`.execute(x.gateway.store.db);
        for (const f of readdirSync(dir).filter((n) => n.includes('.sqlite'))) {
          const bytes = readFileSync(join(dir, f)).toString('latin1').toLowerCase();
          for (const email of EMAILS) assert.ok(!bytes.includes(email), `${email} appears in ${f}`);
        }
      }
    });

    test('the email API refused (no email scope), the system token gone: clear errors, nothing stored; the next trigger recovers; bad input changes nothing', async (t) => {
      const noEmail = { ...EXAMPLE_SCOPES };
      delete noEmail['read:email-address:confluence'];
      const x = await world(backend, { scopes: noEmail });
      t.after(() => x.close());
      assert.equal((await x.gateway.repos.emailIndex.site(x.cloudId))?.lastError, 'ATLASSIAN_ERROR', 'the install-time run recorded why it failed');
      const before = await counts(x.gateway);
      const refused = await resolve(x, [{ email: 'bob@acme.example', externalUserId: 'crm-bob' }]);
      assert.equal(refused.status, 502);
      assert.equal(refused.body.error?.code, 'ATLASSIAN_ERROR');
      assert.equal(refused.body.error?.details?.['reason'], 'not_approved');
      assert.match(refused.body.error?.message ?? '', /email scope/);
      assert.deepEqual(await counts(x.gateway), before, 'no link session, no index row, no audit entry');

      // Bad input: refused before anything runs.
      for (const body of [{ site: x.cloudId, users: [] }, { site: x.cloudId, users: [{ email: 'Bob Builder' }] }, { site: x.cloudId, users: [{ email: 'someone@example.com', extra: 1 }] }]) {
        const res = await x.api('POST', '/v1/resolve', body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'VALIDATION_FAILED');
      }
      const nowhere = await x.api('POST', '/v1/resolve', { site: 'nowhere', users: [{ email: 'someone@example.com' }] });
      assert.equal(nowhere.status, 404);
      assert.deepEqual(await counts(x.gateway), before);
    });

    test('no live system token, or one Forge refuses: FORGE_TOKEN_UNAVAILABLE saying what to do; the hourly trigger brings a token and the index back', async (t) => {
      const x = await world(backend);
      t.after(() => x.close());
      // An installation whose index was never built (its rows dropped) and that has no system token stored.
      // (Advancing the clock past the token's end would not do here: the sandbox's hourly trigger fires on the
      // way and, the gateway being the remote, brings a fresh token at once.)
      await x.gateway.store.db.deleteFrom('email_index').execute();
      await x.gateway.store.db.deleteFrom('email_index_sites').execute();
      const tenant = (await x.gateway.repos.tenants.findByCloudId(x.cloudId)).find((s) => s.route === 'forge')!;
      await x.gateway.repos.tokens.deleteForTenant('forge', tenant.appKey, tenant.tenantKey);
      assert.equal(await x.gateway.repos.tokens.get(systemTokenKey(tenant)), undefined);
      const before = await counts(x.gateway);
      const gone = await resolve(x, [{ email: 'bob@acme.example', externalUserId: 'crm-bob' }]);
      assert.equal(gone.status, 503);
      assert.equal(gone.body.error?.code, 'FORGE_TOKEN_UNAVAILABLE');
      assert.match(gone.body.error?.message ?? '', /hourly scheduled trigger/);
      const { audit_events: _a, ...rest } = await counts(x.gateway);
      assert.deepEqual(rest, { email_index: before.email_index, link_sessions: before.link_sessions, links: before.links });
      const tick = await x.w.sb.sandbox.forge.runScheduledTrigger(x.inst, 'token-keepalive');
      assert.ok(tick.ok && tick.value.outcome === 'delivered', JSON.stringify(tick));
      await x.settle();
      const back = await resolve(x, [{ email: 'bob@acme.example' }]);
      assert.equal(back.body.results?.[0]?.accountId, DEFAULT_ACCOUNTS.bob);

      // Forge itself refusing the stored token (uninstalled, say) is the same clear error, not a bare 401.
      await x.gateway.store.db.deleteFrom('email_index_sites').execute();
      x.w.sb.sandbox.forge.expireTokens(x.inst, 'system');
      const refused = await resolve(x, [{ email: 'bob@acme.example' }]);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.match(refused.body.error?.message ?? '', /no longer accepts the app system token/);
    });

    test('admin mapping and the site policy on a Forge site, over the API and the console: search as the app, map, act under admin_mapped and any_user with offline tokens', async (t) => {
      const secret = 'forge-console-secret-0123456789abcdef';
      const x = await world(backend, { adminSecret: secret });
      t.after(() => x.close());
      const consoleAgent = createConsoleAgent((u, i) => fetch(u, i), x.url);
      assert.equal((await consoleAgent.signIn(secret)).status, 303);
      const found = await x.api('GET', `/v1/admin/site-users?site=${x.cloudId}&q=Bob`);
      assert.equal(found.status, 200, await found.clone().text());
      const users = ((await found.json()) as { users: { accountId: string; email: string | null; linkedTo: string | null }[] }).users;
      assert.deepEqual(users, [{ accountId: DEFAULT_ACCOUNTS.bob, displayName: 'Bob Builder', email: null, linkedTo: null }]);
      const mapped = await x.api('POST', '/v1/admin/mappings', { site: x.cloudId, mappings: [{ externalUserId: 'crm-bob', accountId: DEFAULT_ACCOUNTS.bob }, { externalUserId: 'crm-ghost', accountId: '557058:no-such-user' }] });
      const result = (await mapped.json()) as { mapped: number; failed: number; errors: string[] };
      assert.equal(result.mapped, 1);
      assert.match(result.errors[0] ?? '', /no user 557058:no-such-user/);
      const link = (await x.gateway.repos.links.liveForUser(x.cloudId, 'crm-bob'))!;
      assert.equal(link.route, 'admin');

      // The console lists the Forge-only site for mapping, searches it as the app and maps from there too.
      const page = await consoleAgent.get(`/admin/mapping?site=${encodeURIComponent(x.cloudId)}&q=Dave`);
      assert.equal(page.status, 200, page.html);
      assert.match(page.html, /Dave Private/);
      const viaConsole = await consoleAgent.post('/admin/mapping/map', { site: x.cloudId, accountId: DEFAULT_ACCOUNTS.dave, externalUserId: 'crm-dave', q: 'Dave' });
      assert.equal(viaConsole.status, 303, viaConsole.html);
      assert.equal((await x.gateway.repos.links.liveForUser(x.cloudId, 'crm-dave'))?.route, 'admin');

      // The default policy refuses admin-mapped links; admin_mapped (set in the console) acts through the Forge installation.
      const refused = await x.api('POST', '/v1/tokens', { externalUserId: 'crm-bob', site: x.cloudId });
      assert.equal(refused.status, 403);
      const setPolicy = async (acting: string) => {
        const r = await consoleAgent.post(`/admin/policies/${encodeURIComponent(x.cloudId)}`, { acting, connectMode: 'default', oauthMode: 'default' });
        assert.equal(r.status, 303, r.html);
      };
      assert.equal((await consoleAgent.get(`/admin/policies/${encodeURIComponent(x.cloudId)}`)).status, 200);
      await setPolicy('admin_mapped');
      const asBob = await x.api('GET', `/v1/act/crm-bob/${x.cloudId}/rest/api/user/current`);
      assert.equal(asBob.status, 200, await asBob.clone().text());
      assert.equal(((await asBob.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.bob);
      const carolRefused = await x.api('POST', '/v1/tokens', { accountId: DEFAULT_ACCOUNTS.carol, site: x.cloudId });
      assert.equal(carolRefused.status, 403);
      await setPolicy('any_user');
      const carol = await x.api('POST', '/v1/tokens', { accountId: DEFAULT_ACCOUNTS.carol, site: x.cloudId });
      assert.equal(carol.status, 200, await carol.clone().text());
      assert.equal(((await carol.json()) as { route: string }).route, 'forge');

      // The resolver names the linked user of an account it finds.
      const r = await resolve(x, [{ email: 'bob@acme.example' }]);
      assert.equal(r.body.results?.[0]?.externalUserId, 'crm-bob');
    });
  });
}

describe('the Forge email index, step by step against the sandbox', { timeout: 120_000 }, () => {
  test('bounded work per run with a stored cursor; a user who leaves the site leaves the index at the end of the next pass; a rotated key still matches', async (t) => {
    const x = await world(testBackends()[0]!);
    t.after(() => x.close());
    const tenant = (await x.gateway.repos.tenants.findByCloudId(x.cloudId)).find((s) => s.route === 'forge')!;
    await x.gateway.store.db.deleteFrom('email_index').execute();
    await x.gateway.store.db.deleteFrom('email_index_sites').execute();
    const keyring = loadKeyring(x.gateway.config.keys).keyring;
    const deps = { repos: x.gateway.repos, installations: createForgeInstallations({ repos: x.gateway.repos, clock: x.w.sb.sandbox.clock }), hasher: createEmailHasher(keyring), apiGatewayUrl: 'https://unused.example', fetch: (u: string | URL | Request, i?: RequestInit) => fetch(u, i), clock: x.w.sb.sandbox.clock, logger: silentLogger() };
    const small = createForgeEmailIndex(deps, { usersPerRun: 2 });
    const calls = () => x.w.sb.sandbox.control.counters.total('api_call');
    let before = calls();
    const one = await small.refresh(tenant);
    assert.equal(one.passCompleted, false);
    assert.ok(calls() - before <= 2, `one page and one email call per run (made ${calls() - before})`);
    assert.equal((await x.gateway.repos.emailIndex.site(x.cloudId))?.nextStart, 2, 'the cursor is stored');
    let runs = 1;
    while (!(await small.refresh(tenant)).passCompleted) runs++;
    assert.ok(runs >= 2);
    assert.equal((await small.lookup(x.cloudId, ['carol@acme.example'])).get('carol@acme.example')?.[0], DEFAULT_ACCOUNTS.carol);

    // Carol leaves (deactivated): the next full pass no longer lists her, and she leaves the index.
    await x.w.sb.sandbox.control.updateUser(DEFAULT_ACCOUNTS.carol, { accountStatus: 'inactive' });
    await x.w.post('/_sandbox/clock/advance', { ms: 1000 });
    before = calls();
    const big = createForgeEmailIndex(deps);
    const pass = await big.refresh(tenant);
    assert.ok(pass.passCompleted && pass.removed === 1, JSON.stringify(pass));
    assert.equal((await big.lookup(x.cloudId, ['carol@acme.example'])).size, 0);

    // A new master key: rows made under the old one still match until the next pass re-hashes them.
    const rotated = { activeKeyId: 'k-new', keys: new Map([...keyring.keys, ['k-new', Buffer.alloc(32, 7)]]) };
    const after = createForgeEmailIndex({ ...deps, hasher: createEmailHasher(rotated) });
    assert.equal((await after.lookup(x.cloudId, ['bob@acme.example'])).get('bob@acme.example')?.[0], DEFAULT_ACCOUNTS.bob, 'old hashes still match');
    await x.w.post('/_sandbox/clock/advance', { ms: 1000 });
    assert.ok((await after.refresh(tenant)).passCompleted);
    assert.deepEqual(await x.gateway.repos.emailIndex.keyIds(x.cloudId), ['k-new'], 'the pass re-hashed every row under the new key');
    assert.equal((await after.lookup(x.cloudId, ['bob@acme.example'])).get('bob@acme.example')?.[0], DEFAULT_ACCOUNTS.bob);
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { createStore } from '../store/create-store.js';
import { loadKeyring, readKeyFile } from '../store/keyring.js';
import { createRepositories } from '../store/repositories.js';
import { createSecretBox } from '../store/secret-box.js';
import { DEFAULT_ACCOUNTS } from '../sandbox/index.js';
import { createConsoleAgent } from '../../test/support/console-agent.js';
import { createUserAgent, parseHostPage } from '../../test/support/user-agent.js';
import { invokeFromPage } from '../../test/support/forge-app.js';
import { startsSandbox } from './commands/up.js';
import { freePort } from './free-port.js';
import { runCli } from './run-cli.js';

const repoRoot = new URL('../../', import.meta.url).pathname;

async function cli(args: string[], env: Record<string, string> = {}, cwd = mkdtempSync(join(tmpdir(), 'onbehalf-cli-'))) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { env, cwd, out: (l) => out.push(l), err: (l) => err.push(l), stopSignal: new Promise(() => {}) });
  return { code, out: out.join('\n'), err: err.join('\n'), cwd };
}

describe('onbehalf CLI', () => {
  test('--help lists every command named by the foundation issue', { timeout: 180_000 }, async () => {
    const { code, out } = await cli(['--help']);
    assert.equal(code, 0);
    for (const c of ['serve', 'sandbox', 'up', 'migrate', 'keys rotate', 'apikeys create', 'apikeys list', 'apikeys revoke', 'links list', 'token', 'doctor']) {
      assert.match(out, new RegExp(`^  ${c} `, 'm'), c);
    }
    const help = await cli(['keys', 'rotate', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /--resume/);
  });

  test('sandbox serves on loopback, prints its ready line, and stops on the signal', { timeout: 180_000 }, async () => {
    let stop!: (s: string) => void;
    const out: string[] = [];
    const running = runCli(['sandbox', '--port', '0'], {
      env: {},
      cwd: repoRoot,
      out: (l) => out.push(l),
      err: () => {},
      stopSignal: new Promise((r) => (stop = r)),
    });
    while (out.length === 0) await new Promise((r) => setTimeout(r, 20));
    const ready = JSON.parse(out[0] ?? '') as { url: string; sites: { key: string; baseUrl: string }[] };
    assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const discovery = (await (await fetch(`${ready.url}/_sandbox/discovery`)).json()) as { sites: unknown[] };
    assert.equal(discovery.sites.length, ready.sites.length);
    stop('SIGINT');
    assert.equal(await running, 0);
    await assert.rejects(fetch(`${ready.url}/_sandbox/discovery`), 'closed after the signal');
  });

  test('up starts sandbox and gateway, prints the tour, and shuts both down', { timeout: 180_000 }, async () => {
    let stop!: (s: string) => void;
    const out: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'onbehalf-up-'));
    // A fixed port, as `npm start` has (4000): the token line then configures the very same gateway URL and
    // 3LO client as the running gateway did, which is what made the sandbox answer 409 (issue 15).
    const env = { ONBEHALF_LOG_LEVEL: 'silent', ONBEHALF_PORT: String(await freePort('127.0.0.1')) };
    const running = runCli(['up', '--sandbox-port', '0'], {
      env,
      cwd: dir,
      out: (l) => out.push(l),
      err: () => {},
      stopSignal: new Promise((r) => (stop = r)),
    });
    while (!out.some((l) => l.startsWith('Ctrl-C'))) await new Promise((r) => setTimeout(r, 20));
    const text = out.join('\n');
    const gateway = /Gateway {5}(http:\/\/\S+)/.exec(text)?.[1];
    const sandbox = /Sandbox {5}(http:\/\/\S+)/.exec(text)?.[1];
    assert.ok(gateway && sandbox, text);
    assert.equal((await fetch(`${gateway}/readyz`)).status, 200);
    const descriptor = (await (await fetch(`${gateway}/atlassian-connect.json`)).json()) as { baseUrl: string };
    assert.equal(descriptor.baseUrl, gateway, 'the descriptor names the URL the gateway really listens on');
    assert.match(text, /installed as a Connect app on "acme"/);
    const tokenLine = /npm run -s onbehalf -- (token .+)$/m.exec(text)?.[1];
    assert.ok(tokenLine, 'the tour shows the token command');
    const tokenOut: string[] = [];
    const tokenErr: string[] = [];
    const tokenCode = await runCli(tokenLine.split(' '), { env, cwd: dir, out: (l) => tokenOut.push(l), err: (l) => tokenErr.push(l), stopSignal: new Promise(() => {}) });
    assert.equal(tokenCode, 0, tokenErr.join('\n'));
    const minted = JSON.parse(tokenOut[0] ?? '') as { accessToken: string; apiBaseUrl: string; route: string };
    assert.equal(minted.route, 'connect');
    const page = await fetch(`${minted.apiBaseUrl}/api/v2/pages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${minted.accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'Hello from the tour', body: { representation: 'storage', value: '<p>hi</p>' } }),
    });
    assert.equal(page.status, 200, 'the curl in the tour works');
    assert.equal(((await page.json()) as { authorId: string }).authorId, /--account (\S+)/.exec(tokenLine)?.[1]);

    // Steps 1 and 2 of the tour, as a person would do them (over real HTTP).
    const linkUrl = /^\s+(http:\/\/\S+\/link\/obl_\S+)$/m.exec(text)?.[1];
    const apiKey = /API key (obk_\S+), kept in /.exec(text)?.[1];
    const proxyUrl = /^\s+(http:\/\/\S+\/v1\/act\/demo-alice\/acme\/api\/v2\/pages)$/m.exec(text)?.[1];
    assert.ok(linkUrl && apiKey && proxyUrl, text);
    const ua = createUserAgent(fetch);
    await ua.signIn(sandbox, DEFAULT_ACCOUNTS.alice);
    const toSite = await ua.fetch(linkUrl);
    const host = await ua.fetch(toSite.headers.get('location') ?? '');
    const { iframeSrc, contextTokenUrl } = parseHostPage(await host.text());
    const consentHtml = await (await ua.fetch(iframeSrc)).text();
    const sessionToken = /data-session="([^"]+)"/.exec(consentHtml)?.[1] ?? '';
    const ctx = ((await (await ua.fetch(contextTokenUrl, { method: 'POST' })).json()) as { token: string }).token;
    const decided = await fetch(`${gateway}/connect/link/decide`, { method: 'POST', headers: { Authorization: `JWT ${ctx}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ session: sessionToken, decision: 'allow' }) });
    assert.equal(((await decided.json()) as { status: string }).status, 'linked');
    const proxied = await fetch(proxyUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title: 'Hello through the proxy', body: { representation: 'storage', value: '<p>hi</p>' } }),
    });
    assert.equal(proxied.status, 200, await proxied.clone().text());
    assert.equal(((await proxied.json()) as { authorId: string }).authorId, DEFAULT_ACCOUNTS.alice);

    // Steps 4 and 5, the Forge route: the shipped Forge app on globex, one click on its page, then offline tokens.
    assert.match(text, /The Forge app \(forge-app\/, manifest rendered for this gateway\) is installed on "globex"/);
    const forgeLink = [...text.matchAll(/^\s+(http:\/\/\S+\/link\/obl_\S+)$/gm)][1]?.[1];
    assert.ok(forgeLink, text);
    const bobUa = createUserAgent(fetch);
    await bobUa.signIn(sandbox, DEFAULT_ACCOUNTS.bob);
    const toForgePage = await bobUa.fetch(forgeLink);
    assert.equal(toForgePage.status, 302);
    const forgePage = new URL(toForgePage.headers.get('location') ?? '');
    assert.match(forgePage.pathname, /^\/s\/globex\/wiki\/apps\/[0-9a-f-]+\/[0-9a-f-]+\/connect-account$/);
    const allowed = await invokeFromPage(bobUa, forgePage.href, '/forge/ui/decide', { session: forgePage.searchParams.get('session'), decision: 'allow' });
    assert.equal(allowed.body['status'], 'linked', JSON.stringify(allowed.body));
    const actCurl = /curl -H "Authorization: Bearer (obk_\S+)" (http:\/\/\S+\/v1\/act\/demo-bob\/globex\/rest\/api\/user\/current)/.exec(text);
    assert.ok(actCurl, text);
    const asBob = await fetch(actCurl[2] ?? '', { headers: { Authorization: `Bearer ${actCurl[1]}` } });
    assert.equal(asBob.status, 200, await asBob.clone().text());
    assert.equal(((await asBob.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.bob);
    const anyUser = await fetch(`${gateway}/v1/tokens`, { method: 'POST', headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ accountId: DEFAULT_ACCOUNTS.carol, site: 'globex' }) });
    assert.equal(anyUser.status, 200, await anyUser.clone().text());
    assert.equal(((await anyUser.json()) as { route: string }).route, 'forge', 'an offline token under any_user');

    // The admin console: signed in with the printed secret, the demo link is there.
    const consoleUrl = /^ {2}Admin {7}(http:\/\/\S+\/admin)$/m.exec(text)?.[1];
    const adminSecret = /sign in with the admin secret (\S+) {3}\(kept in (\S+)\)/.exec(text);
    assert.ok(consoleUrl && adminSecret, text);
    assert.equal(consoleUrl, `${gateway}/admin`);
    assert.equal(adminSecret[2], join(dir, 'data', 'admin-secret'));
    assert.equal(statSync(adminSecret[2] ?? '').mode & 0o777, 0o600);
    const admin = createConsoleAgent(fetch, gateway);
    await admin.signIn(adminSecret[1] ?? '');
    const linksPage = await admin.get('/admin/links?q=demo-alice');
    assert.equal(linksPage.status, 200);
    assert.match(linksPage.html, /<th scope="row" class="mono">demo-alice<\/th>/);
    assert.match(linksPage.html, /<span class="status linked">linked<\/span>/);
    assert.ok(!text.includes('Not built yet'), text);
    stop('SIGINT');
    assert.equal(await running, 0);
    await assert.rejects(fetch(`${gateway}/healthz`));
    await assert.rejects(fetch(`${sandbox}/_sandbox/discovery`));
  });

  test('up on the same data folder again: same admin secret and API key, the printed link links with no chooser, and the next run knows it is done (issue 15)', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onbehalf-up-again-'));
    /** One `npm start`: `during` runs while it is up, with the tour's text. */
    const run = async (env: Record<string, string>, during: (text: string) => Promise<void> = async () => {}) => {
      let stop!: (s: string) => void;
      const out: string[] = [];
      const running = runCli(['up', '--port', '0', '--sandbox-port', '0'], { env: { ONBEHALF_LOG_LEVEL: 'silent', ...env }, cwd: dir, out: (l) => out.push(l), err: () => {}, stopSignal: new Promise((r) => (stop = r)) });
      while (!out.some((l) => l.startsWith('Ctrl-C'))) await new Promise((r) => setTimeout(r, 20));
      try {
        await during(out.join('\n'));
      } finally {
        stop('SIGINT');
      }
      assert.equal(await running, 0);
      return out.join('\n');
    };
    const secretOf = (text: string) => /sign in with the admin secret (\S+)/.exec(text)?.[1];
    const keyOf = (text: string) => /API key (obk_\S+), kept in /.exec(text)?.[1];
    const first = await run({});
    assert.ok(secretOf(first) && keyOf(first), first);
    assert.doesNotMatch(first, /the same as last run/);

    // Second start on the same folder: a new sandbox process, the same clientKey, so one install of acme
    // and the printed link goes straight into Confluence (it used to show a chooser listing acme twice).
    const second = await run({}, async (text) => {
      const gateway = /Gateway {5}(http:\/\/\S+)/.exec(text)?.[1] ?? '';
      const sandbox = /Sandbox {5}(http:\/\/\S+)/.exec(text)?.[1] ?? '';
      const linkUrl = /^\s+(http:\/\/\S+\/link\/obl_\S+)$/m.exec(text)?.[1] ?? '';
      assert.ok(linkUrl, text);
      const ua = createUserAgent(fetch);
      await ua.signIn(sandbox, DEFAULT_ACCOUNTS.alice);
      const toSite = await ua.fetch(linkUrl);
      assert.equal(toSite.status, 302, `no chooser: ${await toSite.clone().text()}`);
      const host = await ua.fetch(toSite.headers.get('location') ?? '');
      const { iframeSrc, contextTokenUrl } = parseHostPage(await host.text());
      const consentHtml = await (await ua.fetch(iframeSrc)).text();
      const sessionToken = /data-session="([^"]+)"/.exec(consentHtml)?.[1] ?? '';
      const ctx = ((await (await ua.fetch(contextTokenUrl, { method: 'POST' })).json()) as { token: string }).token;
      const decided = await fetch(`${gateway}/connect/link/decide`, { method: 'POST', headers: { Authorization: `JWT ${ctx}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ session: sessionToken, decision: 'allow' }) });
      assert.equal(((await decided.json()) as { status: string }).status, 'linked');
      // The key printed by the first run still works against the second.
      const me = await fetch(`${gateway}/v1/act/demo-alice/acme/rest/api/user/current`, { headers: { Authorization: `Bearer ${keyOf(first)}` } });
      assert.equal(me.status, 200, await me.clone().text());
      assert.equal(((await me.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.alice);
    });
    assert.equal(secretOf(second), secretOf(first), 'the same admin secret on every run');
    assert.equal(keyOf(second), keyOf(first), 'the same API key on every run');
    assert.match(second, /the same as last run/);

    // Third start: the tour says the link is there instead of asking for it again.
    const third = await run({});
    assert.match(third, /1\. Done: demo-alice is linked to Alice Admin's account/);
    // (Step 4, the Forge page, still offers its own link: demo-bob was never linked in this test.)
    assert.doesNotMatch(third.split('\n  2. ')[0] ?? '', /\/link\/obl_/);
    assert.equal(keyOf(third), keyOf(first));

    const config = loadConfig({}, {}, dir);
    const services = { store: createStore(config.database) };
    try {
      const repos = createRepositories({ store: services.store, box: createSecretBox(loadKeyring(config.keys).keyring), clock: systemClock });
      const demo = (await repos.apiKeys.list({ includeRevoked: true })).filter((k) => k.name === 'npm-start-demo');
      assert.deepEqual(demo.map((k) => k.revokedAt), [null], 'one demo key, never revoked by a restart');
      const tenants = (await repos.tenants.list()).filter((t) => t.route === 'connect' && t.status === 'active');
      assert.equal(tenants.length, 1, 'one active install of acme after three starts');
      // Revoked in the console: the next run makes a new key and says nothing about "last run".
      await repos.apiKeys.revoke(demo[0]?.id ?? '');
    } finally {
      await services.store.close();
    }
    const fourth = await run({});
    assert.ok(keyOf(fourth) && keyOf(fourth) !== keyOf(first));
    assert.doesNotMatch(fourth, /the same as last run/);
    assert.equal(statSync(join(dir, 'data', 'demo-api-key')).mode & 0o777, 0o600);

    const alone = await run({ ONBEHALF_BASE_URL: 'https://onbehalf.example.com', ONBEHALF_ADMIN_SECRET: 'A'.repeat(40) });
    assert.match(alone, /running against Atlassian Cloud \(no sandbox started\)/);
    assert.match(alone, /Admin {7}https:\/\/onbehalf\.example\.com\/admin/);
    assert.ok(!alone.includes('Sandbox '), alone);
  });

  test('a port clash names the flag and the variable that move the port (issue 15: only EADDRINUSE was printed)', { timeout: 180_000 }, async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = String((taken.address() as { port: number }).port);
    try {
      const sandboxClash = await cli(['up', '--port', '0', '--sandbox-port', port], { ONBEHALF_LOG_LEVEL: 'silent' });
      assert.equal(sandboxClash.code, 2);
      assert.match(sandboxClash.err, new RegExp(`Port ${port} is already in use, so the sandbox cannot listen on it\\. Pick another with --sandbox-port N`));
      const gatewayClash = await cli(['up', '--port', port, '--sandbox-port', '0'], { ONBEHALF_LOG_LEVEL: 'silent' });
      assert.equal(gatewayClash.code, 2);
      assert.match(gatewayClash.err, /so the gateway cannot listen on it\. Pick another with --port N \(or ONBEHALF_PORT=N\)/);
      const serveClash = await cli(['serve'], { ONBEHALF_LOG_LEVEL: 'silent', ONBEHALF_PORT: port });
      assert.equal(serveClash.code, 2);
      assert.match(serveClash.err, /--port N \(or ONBEHALF_PORT=N\)/);
      const sandboxAlone = await cli(['sandbox', '--port', port]);
      assert.equal(sandboxAlone.code, 2);
      assert.match(sandboxAlone.err, /so the sandbox cannot listen on it\. Pick another with --port N/);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  test('up starts a sandbox only when nothing points at Atlassian', { timeout: 180_000 }, () => {
    const at = (env: Record<string, string>) => startsSandbox(loadConfig(env, {}, '/srv'));
    assert.equal(at({}), true);
    assert.equal(at({ ONBEHALF_BASE_URL: 'http://127.0.0.1:4000' }), true);
    assert.equal(at({ ONBEHALF_BASE_URL: 'https://gw.example.com' }), false);
    assert.equal(at({ ONBEHALF_OAUTH_CLIENT_ID: 'c', ONBEHALF_OAUTH_CLIENT_SECRET: 's' }), false);
    assert.equal(at({ ONBEHALF_SANDBOX_URL: 'http://127.0.0.1:4100' }), false);
    assert.equal(at({ ONBEHALF_ATLASSIAN_TOKEN_URL: 'https://auth.example.com/oauth/token' }), false);
  });

  test('links list works; bad flags and unknown commands exit 2', { timeout: 180_000 }, async () => {
    const links = await cli(['links', 'list']);
    assert.equal(links.code, 0);
    assert.match(links.out, /No links match/);
    assert.equal((await cli(['links', 'list', '--status', 'happy'])).code, 2);
    assert.equal((await cli(['migrate', '--bogus'])).code, 2);
    assert.equal((await cli(['frobnicate'])).code, 2);
    const config = await cli(['migrate'], { ONBEHALF_LOG_LEVEL: 'chatty' });
    assert.equal(config.code, 2);
    assert.match(config.err, /ONBEHALF_LOG_LEVEL/);
  });

  test('token and tenants commands refuse bad input clearly', { timeout: 180_000 }, async () => {
    assert.equal((await cli(['token'])).code, 2, '--site and --account are required');
    const unknown = await cli(['token', '--site', 'nowhere', '--account', 'a:1'], { ONBEHALF_LOG_LEVEL: 'silent' });
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /No site "nowhere" has installed this app/);
    const list = await cli(['tenants', 'list']);
    assert.equal(list.code, 0);
    assert.match(list.out, /No site has installed the app yet/);
    const purge = await cli(['tenants', 'purge', '--dry-run'], { ONBEHALF_LOG_LEVEL: 'silent' });
    assert.equal(purge.code, 0);
    assert.match(purge.out, /Nothing is due/);
  });

  test('migrate creates the schema in a new SQLite file, and --status reports it', { timeout: 180_000 }, async () => {
    const first = await cli(['migrate']);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /applied 0001-initial/);
    const file = join(first.cwd, 'data', 'onbehalf.sqlite');
    const db = new SQLite(file, { readonly: true });
    const tables = (db.prepare("select name from sqlite_master where type = 'table' order by name").all() as { name: string }[]).map((r) => r.name);
    db.close();
    for (const t of ['api_keys', 'audit_events', 'events', 'known_accounts', 'link_sessions', 'links', 'oauth_apps', 'policies', 'tenants', 'tokens']) assert.ok(tables.includes(t), t);
    const again = await cli(['migrate'], {}, first.cwd);
    assert.match(again.out, /schema is current/);
    const status = await cli(['migrate', '--status'], {}, first.cwd);
    assert.equal(status.code, 0);
    assert.match(status.out, /applied {2}0001-initial/);
  });

  test('keys init creates a 0600 key file once, and leaves an existing one as it is', { timeout: 180_000 }, async () => {
    const first = await cli(['keys', 'init', '--key-file', 'keys/master.json']);
    assert.equal(first.code, 0, first.err);
    const path = join(first.cwd, 'keys', 'master.json');
    assert.match(first.out, /with master key k1/);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const before = readFileSync(path, 'utf8');
    const again = await cli(['keys', 'init', '--key-file', 'keys/master.json'], {}, first.cwd);
    assert.equal(again.code, 1);
    assert.match(again.err, /already exists; it was left as it is/);
    assert.equal(readFileSync(path, 'utf8'), before);
  });

  test('apikeys create prints the key once; list never shows it; revoke stops it', { timeout: 180_000 }, async () => {
    const created = await cli(['apikeys', 'create', '--name', 'backend', '--site', 'site-a', '--json']);
    assert.equal(created.code, 0, created.err);
    assert.match(created.err, /Generated a new master key file/);
    const { key, id } = JSON.parse(created.out) as { key: string; id: string };
    assert.match(key, /^obk_/);
    const list = await cli(['apikeys', 'list'], {}, created.cwd);
    assert.match(list.out, /backend/);
    assert.match(list.out, /sites: site-a/);
    assert.ok(!list.out.includes(key.slice(12)));
    assert.equal((await cli(['apikeys', 'create'], {}, created.cwd)).code, 2, '--name is required');
    const revoked = await cli(['apikeys', 'revoke', id], {}, created.cwd);
    assert.equal(revoked.code, 0);
    assert.equal((await cli(['apikeys', 'revoke', id], {}, created.cwd)).code, 1, 'revoking twice is an error');
    assert.match((await cli(['apikeys', 'list', '--all'], {}, created.cwd)).out, /revoked/);
  });

  test('keys and the Forge email index: status counts hashes per key; retire refuses a key hashes still use, --drop-email-hashes drops them', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onbehalf-cli-'));
    assert.equal((await cli(['migrate'], {}, dir)).code, 0);
    const config = loadConfig({}, {}, dir);
    const store = createStore(config.database);
    const repos = createRepositories({ store, box: createSecretBox(loadKeyring(config.keys).keyring), clock: systemClock });
    await repos.emailIndex.record('cloud-cli', [{ accountId: 'acc-1', emailHash: 'h-1', keyId: 'k1' }, { accountId: 'acc-2', emailHash: 'h-2', keyId: 'k1' }]);
    await store.close();
    assert.equal((await cli(['keys', 'rotate'], {}, dir)).code, 0);
    const status = await cli(['keys', 'status'], {}, dir);
    assert.match(status.out, / {3}k1 {2}0 secret\(s\), 2 email hash\(es\)/);
    assert.match(status.out, /2 email hash\(es\) of the Forge email index are under older keys/);
    const refused = await cli(['keys', 'retire', 'k1'], {}, dir);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /still made 2 email hash\(es\).*--drop-email-hashes/s);
    assert.ok(readKeyFile(join(dir, 'data', 'master-key.json')).keys.some((k) => k.id === 'k1'), 'the key stays');
    const dropped = await cli(['keys', 'retire', 'k1', '--drop-email-hashes'], {}, dir);
    assert.equal(dropped.code, 0, dropped.err);
    assert.match(dropped.out, /Dropped 2 email hash\(es\) made under key k1/);
    assert.ok(!readKeyFile(join(dir, 'data', 'master-key.json')).keys.some((k) => k.id === 'k1'));
  });

  test('keys rotate moves every secret to a new key; retire drops the old one; status tells', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onbehalf-cli-'));
    assert.equal((await cli(['migrate'], {}, dir)).code, 0);
    // Store some secrets the way the gateway would.
    const config = loadConfig({}, {}, dir);
    const store = createStore(config.database);
    const repos = createRepositories({ store, box: createSecretBox(loadKeyring(config.keys).keyring), clock: systemClock });
    const tenant = await repos.tenants.upsert({ route: 'connect', appKey: 'a', tenantKey: 'c', baseUrl: 'https://x/wiki', sharedSecret: 'the-shared-secret' });
    await store.close();

    assert.equal((await cli(['keys', 'retire', 'k1'], {}, dir)).code, 1, 'the active key cannot be retired');
    const rotated = await cli(['keys', 'rotate'], {}, dir);
    assert.equal(rotated.code, 0, rotated.err);
    assert.match(rotated.out, /Added master key k2/);
    assert.match(rotated.out, /Re-encrypted 1 secret/);
    const status = await cli(['keys', 'status'], {}, dir);
    assert.match(status.out, /\* k2 {2}1 secret/);
    assert.match(status.out, / {3}k1 {2}0 secret/);
    assert.equal(statSync(join(dir, 'data', 'master-key.json')).mode & 0o777, 0o600);
    const retired = await cli(['keys', 'retire', 'k1'], {}, dir);
    assert.equal(retired.code, 0, retired.err);
    const resumed = await cli(['keys', 'rotate', '--resume'], {}, dir);
    assert.match(resumed.out, /Re-encrypted 0 secret/);

    const after = loadConfig({}, {}, dir);
    const store2 = createStore(after.database);
    const keyring = loadKeyring(after.keys).keyring;
    assert.deepEqual([...keyring.keys.keys()], ['k2']);
    const repos2 = createRepositories({ store: store2, box: createSecretBox(keyring), clock: systemClock });
    assert.equal(await repos2.tenants.sharedSecret(tenant.id), 'the-shared-secret');
    await store2.close();

    const doctor = await cli(['doctor'], {}, dir);
    assert.equal(doctor.code, 0, doctor.out);
    assert.match(doctor.out, /every stored secret is under a configured key/);
    assert.match(doctor.out, /every stored secret opens with the configured keys/);

    // A keyring with the right ids but other bytes (another deployment's, a bad restore) is caught.
    const keyPath = join(dir, 'data', 'master-key.json');
    const file = JSON.parse(readFileSync(keyPath, 'utf8')) as { keys: { key: string }[] };
    for (const k of file.keys) k.key = randomBytes(32).toString('base64');
    writeFileSync(keyPath, JSON.stringify(file), { mode: 0o600 });
    const wrong = await cli(['doctor'], {}, dir);
    assert.equal(wrong.code, 1, wrong.out);
    assert.match(wrong.out, /every stored secret is under a configured key/);
    assert.match(wrong.out, new RegExp(`FAIL {2}1 stored secret\\(s\\) do not open with the configured keys .*tenants\\.shared_secret 1 \\(e\\.g\\. id ${tenant.id}\\)`));
    assert.doesNotMatch(wrong.out, /the-shared-secret/);
  });

  test('doctor fails clearly when PostgreSQL mode has no keys', { timeout: 180_000 }, async () => {
    const r = await cli(['doctor'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    assert.equal(r.code, 1);
    assert.match(r.out, /FAIL {2}no key file/);
    assert.match(r.out, /FAIL {2}Cannot reach PostgreSQL/);
  });

  test('the real binary runs: --help exits 0, a bad flag exits 2', { timeout: 180_000 }, () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), '--help'], { encoding: 'utf8', cwd: repoRoot });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Commands:/);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'migrate', '--no-such-flag'], { encoding: 'utf8', cwd: repoRoot });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Unknown option/);
  });
});

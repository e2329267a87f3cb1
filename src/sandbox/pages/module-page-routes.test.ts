import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { createManualClock } from '../../clock.js';
import { createSandbox } from '../create-sandbox.js';
import { createInstallKeys } from '../connect/create-install-keys.js';

const keys = createInstallKeys();
import { createTestConnectApp } from '../testing/create-test-connect-app.js';
import { verifyConnectJwt } from '../jwt/verify-connect-jwt.js';
import { DEFAULT_ACCOUNTS } from '../seed/default-seed.js';
import { expandModuleUrl } from './iframe-url.js';
import { ALL_JS } from './all-js.js';

async function setup() {
  const testApp = createTestConnectApp({ baseUrl: 'https://app.example.test/base' });
  const sandbox = createSandbox({ clock: createManualClock(Date.UTC(2026, 5, 1)), fetch: testApp.fetchRouter(), installKeys: keys });
  const r = await sandbox.control.installApp('acme', testApp.descriptorUrl);
  assert.ok(r.ok);
  const info = sandbox.control.installInfo('acme', r.install.appKey)!;
  const signIn = async (accountId: string) => {
    const res = await sandbox.fetch(`${sandbox.origin}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ accountId, returnTo: '/' }).toString(), redirect: 'manual' });
    return res.headers.get('set-cookie')!.split(';')[0]!;
  };
  const servlet = `${sandbox.origin}/s/acme/wiki/plugins/servlet/ac/${info.key}`;
  return { sandbox, info, signIn, servlet, testApp };
}

describe('Connect module pages', () => {
  test('not signed in: redirect to the sign-in page with a return URL', async () => {
    const { sandbox, servlet } = await setup();
    const res = await sandbox.fetch(`${servlet}/main?ac.from=home`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `/login?returnTo=${encodeURIComponent('/s/acme/wiki/plugins/servlet/ac/com.example.sandbox-test-app/main?ac.from=home')}`);
  });
  test('generalPage host page carries an iframe whose URL is signed for the signed-in user (sub, real qsh)', async () => {
    const { sandbox, info, signIn, servlet } = await setup();
    const cookie = await signIn(DEFAULT_ACCOUNTS.bob);
    const res = await sandbox.fetch(`${servlet}/main?ac.from=home+page`, { headers: { cookie } });
    assert.equal(res.status, 200);
    const page = await res.text();
    const src = /<iframe[^>]* src="([^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&');
    assert.ok(/referrerpolicy="no-referrer"/.test(page));
    const url = new URL(src);
    assert.equal(url.origin + url.pathname, 'https://app.example.test/base/main');
    assert.equal(url.searchParams.get('from'), 'home page');
    assert.equal(url.searchParams.get('xdm_c'), `channel-${info.key}__main`);
    assert.equal(url.searchParams.get('cp'), '/wiki');
    assert.equal(url.searchParams.get('xdm_e') + url.searchParams.get('cp')!, info.baseUrl);
    assert.equal(url.searchParams.get('lic'), 'none');
    assert.ok(src.endsWith(`&jwt=${url.searchParams.get('jwt')}`), 'jwt is last');
    const v = verifyConnectJwt({ token: url.searchParams.get('jwt')!, secretFor: ({ iss }) => (iss === info.clientKey ? info.sharedSecret : null), method: 'GET', url: src, contextPath: '/base', nowSeconds: Math.floor(sandbox.clock.now() / 1000) });
    assert.ok(v.ok, v.ok ? '' : v.reason);
    assert.equal(v.claims['sub'], DEFAULT_ACCOUNTS.bob);
    assert.equal((v.claims['exp'] as number) - (v.claims['iat'] as number), 900);
    const name = JSON.parse(/<iframe[^>]* name="([^"]+)"/.exec(page)![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as { extension_id: string; api: Record<string, unknown>; origin: string };
    assert.equal(name.origin, sandbox.origin);
    assert.ok(name.api['context']);
    assert.ok(name.extension_id.startsWith(`${info.key}__main__`));
  });
  test('classifier=json returns {url, options}', async () => {
    const { sandbox, signIn, servlet } = await setup();
    const cookie = await signIn(DEFAULT_ACCOUNTS.bob);
    const j = (await (await sandbox.fetch(`${servlet}/main?classifier=json`, { headers: { cookie } })).json()) as { url: string; options: Record<string, unknown> };
    assert.ok(j.url.startsWith('https://app.example.test/base/main?from=&xdm_e='));
    assert.ok(j.options['structuredContext']);
  });
  test('configurePage: admins only (403 access denied for others); unknown module is 404', async () => {
    const { sandbox, signIn, servlet } = await setup();
    const bob = await signIn(DEFAULT_ACCOUNTS.bob);
    const denied = await sandbox.fetch(`${servlet}/configure`, { headers: { cookie: bob } });
    assert.equal(denied.status, 403);
    assert.ok((await denied.text()).includes('access-denied'));
    const alice = await signIn(DEFAULT_ACCOUNTS.alice);
    assert.equal((await sandbox.fetch(`${servlet}/configure`, { headers: { cookie: alice } })).status, 200);
    assert.equal((await sandbox.fetch(`${servlet}/nope`, { headers: { cookie: alice } })).status, 404);
    assert.equal((await sandbox.fetch(`${sandbox.origin}/s/acme/wiki/plugins/servlet/ac/other.app/main`, { headers: { cookie: alice } })).status, 404);
  });
  test('context token: HS256 with qsh "context-qsh" for the signed-in user; refused without a session', async () => {
    const { sandbox, info, signIn, servlet } = await setup();
    assert.equal((await sandbox.fetch(`${servlet}/main/context-token`, { method: 'POST' })).status, 401);
    const cookie = await signIn(DEFAULT_ACCOUNTS.carol);
    const { token } = (await (await sandbox.fetch(`${servlet}/main/context-token`, { method: 'POST', headers: { cookie } })).json()) as { token: string };
    const base = { token, secretFor: () => info.sharedSecret, method: 'GET', url: '/any/backend/route', nowSeconds: Math.floor(sandbox.clock.now() / 1000) };
    const ok = verifyConnectJwt({ ...base, qsh: 'context' });
    assert.ok(ok.ok);
    assert.equal(ok.claims['sub'], DEFAULT_ACCOUNTS.carol);
    assert.equal(ok.claims['iss'], info.clientKey);
    const strict = verifyConnectJwt({ ...base, qsh: 'required' });
    assert.equal(strict.ok ? 'ok' : strict.reason, 'CONTEXT_QSH_NOT_ALLOWED');
  });
  test('AP.request bridge: runs as the signed-in user within the app scopes', async () => {
    const { sandbox, info, signIn, servlet } = await setup();
    const cookie = await signIn(DEFAULT_ACCOUNTS.bob);
    const ap = async (opts: unknown) => {
      const res = await sandbox.fetch(`${servlet}/main/ap-request`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(opts) });
      return (await res.json()) as { status: number; responseText: string; contentType: string | null };
    };
    const me = await ap({ url: '/rest/api/user/current' });
    assert.equal(me.status, 200);
    assert.equal((JSON.parse(me.responseText) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.bob);
    assert.match(me.contentType ?? '', /json/);
    assert.equal((await ap({ url: '/wiki/api/v2/pages/98308' })).status, 404, 'bob cannot see the restricted page');
    const created = await ap({ url: '/api/v2/pages', type: 'POST', contentType: 'application/json', data: JSON.stringify({ spaceId: '65537', title: 'Via AP.request', body: { representation: 'storage', value: '' } }) });
    assert.equal(created.status, 200);
    assert.equal((JSON.parse(created.responseText) as { authorId: string }).authorId, DEFAULT_ACCOUNTS.bob);
    assert.equal(sandbox.control.counters.total('api_call', { app: info.key, user: DEFAULT_ACCOUNTS.bob }), 3);
    assert.equal((await sandbox.fetch(`${servlet}/main/ap-request`, { method: 'POST', body: '{}' })).status, 401);
    assert.equal(sandbox.state.impersonationTokens.size, 0, 'bridge tokens do not outlive the call');
  });
  test('AP.request bridge: outside the descriptor scopes is 403', async () => {
    const testApp = createTestConnectApp({ baseUrl: 'https://ro.example.test', key: 'com.example.read-only', scopes: ['READ'] });
    const sandbox = createSandbox({ fetch: testApp.fetchRouter(), installKeys: keys });
    assert.ok((await sandbox.control.installApp('acme', testApp.descriptorUrl)).ok);
    const login = await sandbox.fetch(`${sandbox.origin}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ accountId: DEFAULT_ACCOUNTS.alice }).toString(), redirect: 'manual' });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const res = await sandbox.fetch(`${sandbox.origin}/s/acme/wiki/plugins/servlet/ac/com.example.read-only/main/ap-request`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ url: '/api/v2/pages', type: 'POST', data: { spaceId: '65537', title: 'x', body: { representation: 'storage', value: '' } } }),
    });
    assert.equal(((await res.json()) as { status: number }).status, 403);
  });
  test('third-party cookies blocked: the iframe goes through the cookie-less proxy; the app still verifies its JWT', async () => {
    const { sandbox, info, signIn, servlet, testApp } = await setup();
    sandbox.control.updateSettings({ iframeCookies: 'blocked' });
    const cookie = await signIn(DEFAULT_ACCOUNTS.bob);
    const page = await (await sandbox.fetch(`${servlet}/main?ac.from=x`, { headers: { cookie } })).text();
    const src = /<iframe[^>]* src="([^"]+)"/.exec(page)![1]!.replace(/&amp;/g, '&');
    assert.ok(src.startsWith(`${sandbox.origin}/_iframe/acme/${info.key}/main?from=x&`), src);
    const res = await sandbox.fetch(src, { headers: { cookie: 'app_session=s1' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('set-cookie'), null, 'Set-Cookie stripped');
    const received = testApp.received.filter((r) => r.path === '/main');
    const last = received[received.length - 1]!;
    assert.equal(last.cookie, null, 'no Cookie reaches the app');
    const appUrl = last.url;
    const v = verifyConnectJwt({ token: new URL(appUrl).searchParams.get('jwt')!, secretFor: () => info.sharedSecret, method: 'GET', url: appUrl, contextPath: '/base', nowSeconds: Math.floor(sandbox.clock.now() / 1000) });
    assert.ok(v.ok, v.ok ? '' : v.reason);
    const direct = await sandbox.fetch(`${sandbox.origin}/_iframe/acme/unknown.app/main`);
    assert.equal(direct.status, 404);
  });
  test('home page lists sites and links to the installed app pages; login rejects open redirects', async () => {
    const { sandbox, signIn, servlet } = await setup();
    const cookie = await signIn(DEFAULT_ACCOUNTS.carol);
    const home = await (await sandbox.fetch(`${sandbox.origin}/`, { headers: { cookie } })).text();
    assert.ok(home.includes('Carol Jones'));
    assert.ok(home.includes(`href="${servlet}/main"`));
    assert.ok(home.includes(`href="${servlet}/configure"`));
    const evil = await sandbox.fetch(`${sandbox.origin}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ accountId: DEFAULT_ACCOUNTS.carol, returnTo: '//evil.example/x' }).toString(), redirect: 'manual' });
    assert.equal(evil.headers.get('location'), '/');
  });
  test('Manage apps in the browser: site admins install and disable; others are refused', async () => {
    const testApp = createTestConnectApp({ baseUrl: 'https://ui.example.test', key: 'com.example.ui-app' });
    const sandbox = createSandbox({ fetch: testApp.fetchRouter(), installKeys: keys });
    const signIn = async (accountId: string) =>
      (await sandbox.fetch(`${sandbox.origin}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ accountId }).toString(), redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0]!;
    const manage = (cookie: string, form: Record<string, string>) =>
      sandbox.fetch(`${sandbox.origin}/s/acme/manage-apps`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(), redirect: 'manual' });
    const bob = await signIn(DEFAULT_ACCOUNTS.bob);
    assert.equal((await manage(bob, { action: 'install', descriptorUrl: testApp.descriptorUrl })).status, 403);
    const alice = await signIn(DEFAULT_ACCOUNTS.alice);
    const home = await (await sandbox.fetch(`${sandbox.origin}/`, { headers: { cookie: alice } })).text();
    assert.ok(home.includes('action="/s/acme/manage-apps"'), 'admins see the install form');
    assert.equal((await manage(alice, { action: 'install', descriptorUrl: testApp.descriptorUrl })).status, 200);
    const info = sandbox.control.installInfo('acme', 'com.example.ui-app')!;
    assert.equal(info.installed, true);
    assert.ok(testApp.received.some((r) => r.path === '/installed'));
    assert.equal((await manage(alice, { action: 'disable', appKey: 'com.example.ui-app' })).status, 200);
    assert.equal(sandbox.control.installInfo('acme', 'com.example.ui-app')!.enabled, false);
    assert.equal((await manage(alice, { action: 'install', descriptorUrl: 'https://ui.example.test/missing.json' })).status, 502);
  });
  test('all.js is served', async () => {
    const { sandbox } = await setup();
    const res = await sandbox.fetch(`${sandbox.origin}/atlassian-connect/all.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
  });
});

describe('all.js bridge (run in a vm with a fake window)', () => {
  test('posts init, proxies AP.context.getToken as a req, resolves on resp', async () => {
    const posted: { msg: Record<string, unknown>; origin: string }[] = [];
    const listeners: ((e: { origin: string; data: unknown }) => void)[] = [];
    const window = {
      name: JSON.stringify({ extension_id: 'app__main__1', api: { context: { getToken: { args: [], returnsPromise: true } } }, origin: 'http://host.test', options: {} }),
      parent: { postMessage: (msg: Record<string, unknown>, origin: string) => posted.push({ msg, origin }) },
      addEventListener: (_: string, l: (e: { origin: string; data: unknown }) => void) => listeners.push(l),
    } as Record<string, unknown>;
    vm.runInNewContext(ALL_JS, { window, JSON, Promise, Object, Array, String });
    assert.deepEqual(JSON.parse(JSON.stringify(posted[0])), { msg: { eid: 'app__main__1', type: 'init', targets: {} }, origin: 'http://host.test' });
    const AP = window['AP'] as { context: { getToken(): Promise<string> } };
    const p = AP.context.getToken();
    const req = posted[1]!.msg;
    assert.equal(req['type'], 'req');
    assert.equal(req['mod'], 'context');
    assert.equal(req['fn'], 'getToken');
    listeners.forEach((l) => l({ origin: 'http://evil.test', data: { type: 'resp', mid: req['mid'], args: [undefined, 'evil'] } }));
    listeners.forEach((l) => l({ origin: 'http://host.test', data: { type: 'resp', mid: req['mid'], args: [undefined, 'tok-123'] } }));
    assert.equal(await p, 'tok-123');
  });
  test('AP.request(url) resolves {body, xhr} for 2xx and rejects with {xhr} otherwise', async () => {
    const posted: Record<string, unknown>[] = [];
    const listeners: ((e: { origin: string; data: unknown }) => void)[] = [];
    const window = {
      name: JSON.stringify({ extension_id: 'e', api: { request: { request: { args: ['options'], returnsPromise: true } } }, origin: 'http://host.test', options: {} }),
      parent: { postMessage: (msg: Record<string, unknown>) => posted.push(msg) },
      addEventListener: (_: string, l: (e: { origin: string; data: unknown }) => void) => listeners.push(l),
    } as Record<string, unknown>;
    vm.runInNewContext(ALL_JS, { window, JSON, Promise, Object, Array, String });
    const AP = window['AP'] as { request(o: unknown): Promise<{ body: string; xhr: { status: number; getResponseHeader(h: string): string | null } }> };
    const ok = AP.request('/rest/api/user/current');
    const req = posted[1]!;
    assert.equal(JSON.stringify(req['args']), JSON.stringify([{ url: '/rest/api/user/current' }]));
    listeners.forEach((l) => l({ origin: 'http://host.test', data: { type: 'resp', mid: req['mid'], args: [undefined, { status: 200, statusText: 'OK', responseText: '{"a":1}', contentType: 'application/json', etag: null }] } }));
    const r = await ok;
    assert.equal(r.body, '{"a":1}');
    assert.equal(r.xhr.getResponseHeader('Content-Type'), 'application/json');
    let errorCallback = 0;
    const bad = AP.request({ url: '/x', error: () => errorCallback++ });
    const req2 = posted[2]!;
    listeners.forEach((l) => l({ origin: 'http://host.test', data: { type: 'resp', mid: req2['mid'], args: [undefined, { status: 404, statusText: 'Not Found', responseText: '', contentType: null, etag: null }] } }));
    await assert.rejects(bad, (e: { xhr: { status: number } }) => e.xhr.status === 404);
    assert.equal(errorCallback, 1);
  });
  test('expandModuleUrl: unbound variables are empty, path parts percent-encoded, query values form-encoded', () => {
    assert.equal(expandModuleUrl('/p/{ac.id}/view?q={ac.q}&none={ac.none}', { 'ac.id': 'a b/c', 'ac.q': 'x y&z' }), '/p/a%20b%2Fc/view?q=x+y%26z&none=');
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startForgeWorld, type ForgeWorld } from '../testing/forge-test-kit.js';
import type { RemoteReply } from '../testing/start-test-forge-remote.js';
import { EXAMPLE_APP_ID } from './example-manifest.js';
import { DEFAULT_ACCOUNTS } from '../seed/default-seed.js';

/** The host side of the Custom UI bridge without a browser: what the host page's script posts. */
async function signedIn(w: ForgeWorld, accountId: string): Promise<string> {
  const res = await fetch(`${w.sb.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ accountId }), redirect: 'manual' });
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

type Invoked = { success: boolean; payload?: { status: number; headers: Record<string, string[]>; body: unknown }; error?: { status: number | null; message: string; code: string } };

describe('Forge Custom UI bridge calls (host side) over real HTTP', { timeout: 180_000 }, () => {
  test('invokeRemote: user token only where the endpoint enables it; answers and refusals as the bridge expects', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const info = await w.install({ userTokenOnUi: false });
    const page = new URL(info.pages.find((p) => p.key === 'link-account')!.url);
    const cookie = await signedIn(w, DEFAULT_ACCOUNTS.carol);
    const invoke = async (payload: unknown, headers: Record<string, string> = { 'x-onbehalf-sandbox-bridge': '1' }) => {
      const res = await fetch(`${w.sb.url}${page.pathname}/_bridge/invoke`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) });
      return { status: res.status, body: (await res.json()) as Invoked };
    };
    w.remote.respond((r): RemoteReply => (r.path === '/text' ? { rawBody: 'hello', headers: { 'content-type': 'text/plain' } } : r.path === '/moved' ? { status: 301, headers: { location: '/x' } } : r.path === '/nope' ? { status: 404, body: { message: 'no such thing' } } : { headers: { 'x-app': 'a' }, body: { got: r.body } }));

    const ok = await invoke({ path: '/hello?x=1', method: 'PUT', body: { a: 1 }, headers: { 'x-custom': 'c', authorization: 'Bearer forged' }, invokeType: 'ui-remote-fetch' });
    assert.equal(ok.body.success, true);
    assert.equal(ok.body.payload!.status, 200);
    assert.deepEqual(ok.body.payload!.body, { got: { a: 1 } });
    assert.deepEqual(ok.body.payload!.headers['x-app'], ['a']);
    const call = w.remote.received.find((r) => r.path === '/hello?x=1')!;
    assert.equal(call.method, 'PUT');
    assert.equal(call.headers['x-custom'], 'c', 'custom headers pass');
    const fit = await w.verifyFit(call.headers['authorization'], EXAMPLE_APP_ID);
    assert.equal(fit['principal'], DEFAULT_ACCOUNTS.carol, 'the FIT, not the UI-supplied authorization, reaches the remote');
    assert.equal(call.headers['x-forge-oauth-user'], undefined, 'appUserToken is not enabled on this endpoint');
    assert.ok(call.headers['x-forge-oauth-system']);

    // A 4xx with a JSON body is an answer; non-JSON, redirects, paths off the remote and other types are errors.
    const notFound = await invoke({ path: '/nope', method: 'GET', invokeType: 'ui-remote-fetch' });
    assert.deepEqual([notFound.body.success, notFound.body.payload?.status], [true, 404]);
    const text = await invoke({ path: '/text', method: 'GET', invokeType: 'ui-remote-fetch' });
    assert.deepEqual([text.body.success, text.body.error?.code], [false, 'INVALID_REMOTE_INVOCATION_ERROR']);
    assert.match(text.body.error!.message, /application\/json/);
    const moved = await invoke({ path: '/moved', method: 'GET', invokeType: 'ui-remote-fetch' });
    assert.deepEqual([moved.body.success, moved.body.error?.status], [false, 301]);
    const off = await invoke({ path: 'http://127.0.0.1:1/elsewhere', method: 'GET', invokeType: 'ui-remote-fetch' });
    assert.match(off.body.error!.message, /does not stay on the remote/);
    const badMethod = await invoke({ path: '/hello', method: 'TRACE', invokeType: 'ui-remote-fetch' });
    assert.match(badMethod.body.error!.message, /method must be one of/);
    const service = await invoke({ path: '/hello', method: 'GET', invokeType: 'ui-container-fetch' });
    assert.equal(service.body.error!.code, 'NOT_EMULATED');
    const big = await invoke({ path: '/hello', method: 'POST', body: { blob: 'x'.repeat(600 * 1024) }, invokeType: 'ui-remote-fetch' });
    assert.equal(big.body.error!.status, 413);
    // Not from the host page (no marker header), or without a session: refused before anything is sent.
    const before = w.remote.received.length;
    assert.equal((await invoke({ path: '/hello', method: 'GET', invokeType: 'ui-remote-fetch' }, {})).status, 400);
    const anon = await fetch(`${w.sb.url}${page.pathname}/_bridge/invoke`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-onbehalf-sandbox-bridge': '1' }, body: '{}' });
    assert.equal(anon.status, 401);
    assert.equal(w.remote.received.length, before);
  });

  test('the host page: sign-in first, 403 for a user of another site, 404 for an unknown app, resources never outside their folder', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const info = await w.install();
    const url = info.pages.find((p) => p.key === 'link-account')!.url;
    const anon = await fetch(url, { redirect: 'manual' });
    assert.equal(anon.status, 302);
    assert.match(anon.headers.get('location') ?? '', /^\/login\?returnTo=/);
    const frank = await signedIn(w, DEFAULT_ACCOUNTS.frank);
    assert.equal((await fetch(url, { headers: { cookie: frank } })).status, 403);
    const carol = await signedIn(w, DEFAULT_ACCOUNTS.carol);
    const html = await (await fetch(url, { headers: { cookie: carol } })).text();
    const src = /<iframe id="forge-app-frame"[^>]* src="([^"]+)"/.exec(html)![1]!;
    assert.match(html, /sandbox="allow-scripts allow-forms allow-popups allow-downloads"/);
    const res = await fetch(src);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(await res.text(), /window\.__bridge = \{/);
    assert.equal((await fetch(src.replace('index.html', '..%2F..%2F..%2Fetc%2Fpasswd'))).status, 404);
    assert.equal((await fetch(url.replace(/apps\/[0-9a-f-]+\//, 'apps/00000000-0000-4000-8000-000000000000/'), { headers: { cookie: carol } })).status, 404);

    // The app's own sub-paths and query stay on its page (createHistory reports them); the host knows where the page starts.
    const deep = await fetch(`${url}/step/two?session=abc`, { headers: { cookie: carol } });
    assert.equal(deep.status, 200);
    const data = JSON.parse(/<script type="application\/json" id="forge-host-data">([\s\S]*?)<\/script>/.exec(await deep.text())![1]!) as { pagePath: string };
    assert.equal(data.pagePath, new URL(url).pathname);
    const signedOutDeep = await fetch(`${url}/step/two?session=abc`, { redirect: 'manual' });
    assert.equal(decodeURIComponent(signedOutDeep.headers.get('location') ?? ''), `/login?returnTo=${new URL(url).pathname}/step/two?session=abc`, 'sign-in comes back to the same sub-path and query');
  });
});

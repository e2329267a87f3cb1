import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../clock.js';
import { createSandbox } from '../create-sandbox.js';
import { createInstallKeys } from '../connect/create-install-keys.js';
import { createTestConnectApp } from '../testing/create-test-connect-app.js';
import { signAssertion } from '../testing/sign-assertion.js';
import { DEFAULT_ACCOUNTS } from '../seed/default-seed.js';

const keys = createInstallKeys();
const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

async function setup() {
  const testApp = createTestConnectApp({ baseUrl: 'https://app.example.test' });
  const sandbox = createSandbox({ clock: createManualClock(Date.UTC(2026, 11, 3, 9, 40)), fetch: testApp.fetchRouter(), installKeys: keys });
  const r = await sandbox.control.installApp('acme', testApp.descriptorUrl);
  assert.ok(r.ok);
  const info = sandbox.control.installInfo('acme', r.install.appKey)!;
  const signIn = async (accountId: string) => {
    const res = await sandbox.fetch(`${sandbox.origin}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ accountId, returnTo: '/' }).toString(), redirect: 'manual' });
    return res.headers.get('set-cookie')!.split(';')[0]!;
  };
  /** A page created as `accountId` through the app's user impersonation, as the gateway's proxy does. */
  const createAs = async (accountId: string, title: string, value: string) => {
    const assertion = signAssertion({ oauthClientId: info.oauthClientId!, accountId, baseUrl: info.baseUrl, authServer: sandbox.origin, sharedSecret: info.sharedSecret, nowSeconds: Math.floor(sandbox.clock.now() / 1000) });
    const grant = await sandbox.fetch(`${sandbox.origin}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
    });
    const token = ((await grant.json()) as { access_token: string }).access_token;
    const res = await sandbox.fetch(`${info.baseUrl}/api/v2/pages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title, body: { representation: 'storage', value } }),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { id: string; _links: { webui: string; base: string } };
  };
  return { sandbox, info, signIn, createAs };
}

describe('the sandbox\'s Confluence view', () => {
  test('a page created as Alice through an app opens at its web link and says "created by Alice Admin via <app>"', async () => {
    const { sandbox, signIn, createAs } = await setup();
    const page = await createAs(DEFAULT_ACCOUNTS.alice, 'Hello from onbehalf', '<p>hi <strong>there</strong></p>');
    const cookie = await signIn(DEFAULT_ACCOUNTS.bob);
    const res = await sandbox.fetch(page._links.base + page._links.webui, { headers: { ...HTML, cookie } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const text = await res.text();
    assert.match(text, /<h1 id="page-title">Hello from onbehalf<\/h1>/);
    assert.match(text, /Created by <strong data-author>Alice Admin<\/strong> via <strong data-via>Sandbox Test App<\/strong>/);
    assert.match(text, /<p>hi <strong>there<\/strong><\/p>/);
    assert.match(text, /Viewing as <strong id="current-user">Bob Builder<\/strong>/);
  });

  test('a page body that tries to run script is shown as text, never as markup', async () => {
    const { sandbox, signIn, createAs } = await setup();
    const page = await createAs(DEFAULT_ACCOUNTS.alice, 'Evil <img src=x onerror=alert(1)>', '<p onclick="alert(1)">a</p><script>alert(2)</script><img src=x onerror=alert(3)><a href="javascript:alert(4)">link</a><iframe src="https://evil.example"></iframe>');
    const cookie = await signIn(DEFAULT_ACCOUNTS.alice);
    const text = await (await sandbox.fetch(page._links.base + page._links.webui, { headers: { ...HTML, cookie } })).text();
    const body = /<div class="wiki-body" id="page-body">([\s\S]*?)<\/div>\n<\/article>/.exec(text)?.[1];
    assert.equal(body, '<p>a</p>link');
    assert.match(text, /<h1 id="page-title">Evil &lt;img src=x onerror=alert\(1\)&gt;<\/h1>/, 'the title is escaped');
    assert.doesNotMatch(text, /<script|<img|<iframe/i);
  });

  test('permissions are the viewer\'s: Bob sees no restricted page, in the tree or by URL; Alice does', async () => {
    const { sandbox, signIn } = await setup();
    const url = `${sandbox.origin}/s/acme/wiki/spaces/ENG/pages/98308`;
    const bob = await signIn(DEFAULT_ACCOUNTS.bob);
    assert.equal((await sandbox.fetch(url, { headers: { ...HTML, cookie: bob } })).status, 404);
    const space = await (await sandbox.fetch(`${sandbox.origin}/s/acme/wiki/spaces/ENG`, { headers: { ...HTML, cookie: bob } })).text();
    assert.match(space, /Runbook/);
    assert.doesNotMatch(space, /Salar/);
    const alice = await signIn(DEFAULT_ACCOUNTS.alice);
    const res = await sandbox.fetch(url, { headers: { ...HTML, cookie: alice } });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Salaries 2026/);
  });

  test('the site URL lists spaces and recent pages; signed out, it sends the browser to sign in and back', async () => {
    const { sandbox, signIn } = await setup();
    const signedOut = await sandbox.fetch(`${sandbox.origin}/s/acme/wiki`, { headers: HTML, redirect: 'manual' });
    assert.equal(signedOut.status, 302);
    assert.equal(signedOut.headers.get('location'), `/login?returnTo=${encodeURIComponent('/s/acme/wiki')}`);
    const cookie = await signIn(DEFAULT_ACCOUNTS.bob);
    const home = await (await sandbox.fetch(`${sandbox.origin}/s/acme/wiki`, { headers: { ...HTML, cookie } })).text();
    assert.match(home, /<a href="\/s\/acme\/wiki\/spaces\/ENG">Engineering<\/a>/);
    assert.match(home, /id="recent"/);
    // "Switch user" signs out and comes back here after the next sign-in; only to a path of this origin.
    const form = (returnTo: string) => sandbox.fetch(`${sandbox.origin}/logout`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ returnTo }).toString(), redirect: 'manual' });
    assert.equal((await form('/s/acme/wiki/spaces/ENG')).headers.get('location'), `/login?returnTo=${encodeURIComponent('/s/acme/wiki/spaces/ENG')}`);
    assert.equal((await form('https://evil.example/')).headers.get('location'), `/login?returnTo=${encodeURIComponent('/')}`);
  });

  test('clients that did not ask for HTML get the API\'s JSON as before, on every view path and every REST path', async () => {
    const { sandbox, signIn } = await setup();
    const cookie = await signIn(DEFAULT_ACCOUNTS.alice);
    for (const path of ['/s/acme/wiki', '/s/acme/wiki/spaces/ENG', '/s/acme/wiki/spaces/ENG/pages/98305', '/s/acme/wiki/pages/98305']) {
      const res = await sandbox.fetch(`${sandbox.origin}${path}`, { headers: { accept: 'application/json', cookie } });
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type') ?? '', /json/, path);
    }
    const api = await sandbox.fetch(`${sandbox.origin}/s/acme/wiki/api/v2/pages/98305`, { headers: { ...HTML, authorization: `Basic ${Buffer.from('alice@acme.example:alice-api-token').toString('base64')}` } });
    assert.equal(api.status, 200, 'a REST path answers JSON even to a browser-like Accept');
    assert.equal(((await api.json()) as { id: string }).id, '98305');
  });

  test('other web links (comment, tiny link, the 3LO gateway path) lead to the page', async () => {
    const { sandbox, signIn } = await setup();
    const cookie = await signIn(DEFAULT_ACCOUNTS.alice);
    const cloudId = sandbox.state.siteByKey('acme')!.cloudId;
    const tiny = Buffer.from('98306').toString('base64url');
    for (const path of ['/s/acme/wiki/pages/98306?focusedCommentId=1', `/s/acme/wiki/x/${tiny}`, `/ex/confluence/${cloudId}/wiki/spaces/ENG/pages/98306/Runbook`]) {
      let res = await sandbox.fetch(`${sandbox.origin}${path}`, { headers: { ...HTML, cookie }, redirect: 'manual' });
      assert.equal(res.status, 302, path);
      res = await sandbox.fetch(new URL(res.headers.get('location')!, sandbox.origin), { headers: { ...HTML, cookie } });
      assert.equal(res.status, 200, path);
      assert.match(await res.text(), /<h1 id="page-title">Runbook<\/h1>/, path);
    }
  });
});

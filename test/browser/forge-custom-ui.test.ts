import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { startForgeWorld, type ForgeWorld, type ForgeInstallInfo } from '../../src/sandbox/testing/forge-test-kit.js';
import { EXAMPLE_APP_ID } from '../../src/sandbox/forge/example-manifest.js';
import { browserSkipReason, launchBrowser, screenshot, type TestBrowser } from './support/launch-browser.js';
import { assertLayout, signIn, watchProblems } from './support/page-checks.js';

const skip = browserSkipReason();
const repoRoot = new URL('../..', import.meta.url).pathname;

/** A Custom UI as an app developer writes it: the published @forge/bridge, bundled, no sandbox code in it. */
const UI_SOURCE = `
import { invokeRemote, view, requestConfluence } from '@forge/bridge';
const out = document.getElementById('out');
const who = document.getElementById('who');
view.getContext().then((ctx) => { who.textContent = ctx.accountId + ' on ' + ctx.extension.type; document.body.dataset.ready = 'true'; });
document.getElementById('allow').addEventListener('click', async () => {
  try {
    const res = await invokeRemote({ path: '/link', method: 'POST', body: { nonce: 'n-1' } });
    out.textContent = JSON.stringify({ status: res.status, body: res.body });
  } catch (e) { out.textContent = 'error: ' + e.message; }
});
document.getElementById('read').addEventListener('click', async () => {
  const res = await requestConfluence('/wiki/rest/api/user/current');
  out.textContent = JSON.stringify({ status: res.status, me: (await res.json()).accountId });
});
document.getElementById('broken').addEventListener('click', async () => {
  const res = await invokeRemote({ path: '/reject', method: 'GET' });
  out.textContent = JSON.stringify(res);
});
`;

/**
 * Forge Custom UI in the sandbox's Confluence, in real Chromium: the real @forge/bridge bundle calls
 * `invokeRemote`; the remote receives a FIT whose principal is the signed-in user and a user token that
 * reads a page as that user.
 */
describe('Forge Custom UI with the real @forge/bridge in Chromium', { skip: skip ?? false, timeout: 240_000 }, () => {
  let w: ForgeWorld;
  let browser: TestBrowser;
  let info: ForgeInstallInfo;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onbehalf-forge-ui-'));
    await build({ stdin: { contents: UI_SOURCE, resolveDir: repoRoot, loader: 'js' }, bundle: true, format: 'iife', platform: 'browser', outfile: join(dir, 'app.js'), define: { 'process.env.NODE_ENV': '"production"' }, logLevel: 'error' });
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Connect your account</title></head>' +
        '<body style="font-family:sans-serif;margin:1rem"><p>This app will act as <strong id="who">…</strong> in Confluence.</p>' +
        '<button id="allow">Allow</button> <button id="read">Who am I?</button> <button id="broken">Broken call</button><pre id="out" style="white-space:pre-wrap"></pre><script src="app.js"></script></body></html>',
    );
    w = await startForgeWorld();
    w.remote.respond(async (r) => {
      if (r.path === '/reject') return { status: 401, body: { message: 'bad FIT' } };
      if (r.path !== '/link') return { body: { ok: true } };
      // What a remote does with the user token: read a page as that user.
      const token = r.headers['x-forge-oauth-user'];
      const page = await fetch(`${info.apiBaseUrl}/wiki/api/v2/pages/98305`, { headers: { authorization: `Bearer ${token}` } });
      return { body: { linked: true, pageStatus: page.status, title: page.ok ? ((await page.json()) as { title: string }).title : null } };
    });
    info = await w.install({ extra: { resources: { ui: dir } } });
    browser = await launchBrowser();
  }, { timeout: 120_000 });
  after(async () => {
    await browser?.close();
    await w?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, { timeout: 120_000 });

  test('Bob clicks Allow: invokeRemote reaches the remote with his principal and a user token that reads as him', async () => {
    const page = await browser.newPage();
    const { problems } = watchProblems(page);
    await signIn(page, w.sb.url, DEFAULT_ACCOUNTS.bob);
    const globalPage = info.pages.find((p) => p.key === 'link-account')!.url;
    await page.goto(globalPage);
    const frame = page.frameLocator('#forge-app-frame');
    await frame.locator('body[data-ready="true"]').waitFor();
    assert.equal(await frame.locator('#who').textContent(), `${DEFAULT_ACCOUNTS.bob} on confluence:globalPage`);
    await assertLayout(page, 'Forge global page');
    await screenshot(page, 'forge', '01-global-page');
    await frame.locator('#allow').click();
    await frame.locator('#out', { hasText: 'linked' }).waitFor();
    const shown = JSON.parse((await frame.locator('#out').textContent()) ?? '{}') as { status: number; body: { linked: boolean; pageStatus: number; title: string } };
    assert.deepEqual(shown, { status: 200, body: { linked: true, pageStatus: 200, title: 'Engineering Home' } });
    await screenshot(page, 'forge', '02-allowed');

    const call = w.remote.received.find((r) => r.path === '/link')!;
    assert.equal(call.method, 'POST');
    assert.deepEqual(call.body, { nonce: 'n-1' });
    const fit = await w.verifyFit(call.headers['authorization'], EXAMPLE_APP_ID);
    assert.equal(fit['principal'], DEFAULT_ACCOUNTS.bob);
    const ctx = fit['context'] as { cloudId: string; moduleKey: string; extension: { type: string }; siteUrl: string };
    assert.deepEqual([ctx.cloudId, ctx.moduleKey, ctx.extension.type], [info.cloudId, 'link-account', 'confluence:globalPage']);
    assert.deepEqual((fit['app'] as { module: unknown }).module, { type: 'confluence:globalPage', key: 'link-account' });
    assert.ok(call.headers['x-forge-oauth-user']);
    assert.ok(call.headers['x-forge-oauth-system']);
    const me = await fetch(`${info.apiBaseUrl}/wiki/rest/api/user/current`, { headers: { authorization: `Bearer ${call.headers['x-forge-oauth-user']}` } });
    assert.equal(((await me.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.bob);

    await frame.locator('#read').click();
    await frame.locator('#out', { hasText: '"me"' }).waitFor();
    assert.deepEqual(JSON.parse((await frame.locator('#out').textContent()) ?? '{}'), { status: 200, me: DEFAULT_ACCOUNTS.bob });

    await frame.locator('#broken').click();
    await frame.locator('#out', { hasText: 'Invocation Token' }).waitFor();
    const failed = JSON.parse((await frame.locator('#out').textContent()) ?? '{}') as { status: number; message: string };
    assert.deepEqual([failed.status, failed.message], [401, 'Remote could not verify the Forge Invocation Token']);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('phone width, a space page with its space in the context, and a signed-out visit goes to sign-in', async () => {
    const page = await browser.newPage(390);
    await signIn(page, w.sb.url, DEFAULT_ACCOUNTS.alice);
    const spaceUrl = info.pages.find((p) => p.key === 'space-link')!.url.replace('{spaceKey}', 'ENG');
    await page.goto(spaceUrl);
    const frame = page.frameLocator('#forge-app-frame');
    await frame.locator('body[data-ready="true"]').waitFor();
    assert.equal(await frame.locator('#who').textContent(), `${DEFAULT_ACCOUNTS.alice} on confluence:spacePage`);
    await assertLayout(page, 'Forge space page at phone width');
    await screenshot(page, 'forge', '03-space-page-phone');
    await frame.locator('#allow').click();
    await frame.locator('#out', { hasText: 'linked' }).waitFor();
    const call = w.remote.received.filter((r) => r.path === '/link').at(-1)!;
    const fit = await w.verifyFit(call.headers['authorization'], EXAMPLE_APP_ID);
    assert.equal(fit['principal'], DEFAULT_ACCOUNTS.alice);
    assert.deepEqual((fit['context'] as { extension: unknown }).extension, { type: 'confluence:spacePage', space: { key: 'ENG', id: '65537' } });
    await browser.reset();
    const anon = await browser.newPage();
    await anon.goto(spaceUrl);
    assert.match(anon.url(), /\/login\?returnTo=/);
    await anon.close();
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { installShippedForgeApp, type ShippedInstall } from '../support/forge-app.js';
import { startBrowserWorld, type BrowserWorld } from './support/browser-world.js';
import { browserSkipReason, launchBrowser, screenshot, type TestBrowser } from './support/launch-browser.js';
import { assertLayout, signIn, trackedPages } from './support/page-checks.js';

const skip = browserSkipReason();
const APP_ID = 'ari:cloud:ecosystem::app/8a1c6e42-3b7d-4f09-a5e2-6c4d2b1f0e93';

/**
 * The shipped Forge app in real Chromium: a person follows a link-session URL, lands on the "Connect your
 * account" global page of the Forge app in the sandbox's Confluence (the unmodified @forge/bridge bundle from
 * forge-app/), clicks Allow, goes back to the app with the completion code; the app's backend confirms it and
 * acts as that person through the gateway's proxy with an offline user token. At desktop and phone widths.
 */
describe('Forge "Connect your account" page in Chromium (shipped app)', { skip: skip ?? false, timeout: 300_000 }, () => {
  let w: BrowserWorld;
  let browser: TestBrowser;
  let inst: ShippedInstall;
  const pages = trackedPages(() => browser);

  before(async () => {
    w = await startBrowserWorld({ env: { ONBEHALF_FORGE_APP_ID: APP_ID } });
    inst = await installShippedForgeApp(w.sandboxUrl, 'acme', w.gatewayUrl, APP_ID);
    await w.sandbox.sandbox.forge.deliveries.flush();
    await w.gateway.background.drain();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await w?.close();
  });

  const appFrame = (page: Page): Frame => {
    const frame = page.frames().find((f) => f.url().includes('/forge-resources/'));
    assert.ok(frame, `no Forge app frame; frames: ${page.frames().map((f) => f.url()).join(', ')}`);
    return frame;
  };

  for (const { width, who, name, externalUserId } of [
    { width: 1280, who: DEFAULT_ACCOUNTS.bob, name: 'Bob Builder', externalUserId: 'browser-forge-bob' },
    { width: 390, who: DEFAULT_ACCOUNTS.carol, name: 'Carol Jones', externalUserId: 'browser-forge-carol' },
  ]) {
    test(`${width}px: Allow on the Forge page, back to the app with the code, then acting as that user offline`, async () => {
      const session = await w.api<{ id: string; url: string }>('POST', '/v1/link-sessions', { externalUserId, site: 'acme', returnUrl: `${w.appUrl}/linked` });
      assert.equal(session.status, 201);
      const page = await pages.newPage(width);
      await signIn(page, w.sandboxUrl, who);
      await page.goto(session.body.url);
      const pageUrl = inst.pages.find((p) => p.key === 'connect-account')?.url ?? '';
      assert.ok(page.url().startsWith(`${pageUrl}?session=`), `on the Forge page with the session: ${page.url()}`);
      const frame = page.frameLocator('#forge-app-frame');
      await frame.locator('body[data-ready="true"]').waitFor();
      assert.equal(await frame.locator('#who').textContent(), name);
      assert.equal(await frame.locator('#external-user').textContent(), externalUserId);
      assert.ok((await frame.locator('#actions li').count()) >= 2, 'it says what the app will do as the user');
      await assertLayout(page, `Forge page at ${width}px`);
      await assertLayout(appFrame(page), `Forge app frame at ${width}px`);
      await screenshot(page, 'forge-allow', `${width}-01-request`);

      await frame.locator('#allow').click();
      await frame.locator('body[data-decided="pending_confirmation"]').waitFor();
      assert.equal(await frame.locator('#outcome .notice-title').textContent(), 'Almost done');
      assert.ok(!page.url().includes('session='), `the spent session left the address bar: ${page.url()}`);
      assert.equal(await frame.locator('#links li').count(), 1, 'the new connection is listed');
      await assertLayout(appFrame(page), `Forge app frame after Allow at ${width}px`);
      await screenshot(page, 'forge-allow', `${width}-02-allowed`);

      await frame.locator('#return').click();
      await page.waitForURL(`${w.appUrl}/linked?**`);
      const back = new URL(page.url());
      assert.equal(back.searchParams.get('onbehalf_session'), session.body.id);
      assert.equal(back.searchParams.get('onbehalf_status'), 'pending_confirmation');
      const code = back.searchParams.get('onbehalf_code') ?? '';

      // The app's backend redeems the code, then acts as the person through the proxy (an offline token).
      const confirmed = await w.api<{ status: string; route: string; accountId: string }>('POST', `/v1/link-sessions/${session.body.id}/confirm`, { code });
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
      assert.deepEqual([confirmed.body.status, confirmed.body.route, confirmed.body.accountId], ['linked', 'forge', who]);
      const grants = w.sandbox.sandbox.control.counters.total('offline_token_grant');
      const me = await fetch(`${w.gatewayUrl}/v1/act/${externalUserId}/acme/rest/api/user/current`, { headers: { authorization: `Bearer ${w.apiKey}` } });
      assert.equal(me.status, 200, await me.clone().text());
      assert.equal(((await me.json()) as { accountId: string }).accountId, who);
      assert.equal(w.sandbox.sandbox.control.counters.total('offline_token_grant'), grants + 1, 'through an offline user token');

      // Back on the page without a session: the connection, since when, and Disconnect.
      await page.goto(pageUrl);
      const again = page.frameLocator('#forge-app-frame');
      await again.locator('body[data-ready="true"]').waitFor();
      assert.match((await again.locator('#links li').first().textContent()) ?? '', new RegExp(`Connected as ${externalUserId} since \\d{4}-\\d{2}-\\d{2}`));
      await screenshot(page, 'forge-allow', `${width}-03-connected`);
      await again.locator('#links button.disconnect').click();
      await again.locator('#outcome .notice-title', { hasText: 'Disconnected' }).waitFor();
      await again.locator('#no-links').waitFor();
      const after = await fetch(`${w.gatewayUrl}/v1/act/${externalUserId}/acme/rest/api/user/current`, { headers: { authorization: `Bearer ${w.apiKey}` } });
      assert.notEqual(after.status, 200, 'disconnected: no more acting as them');
      await pages.fresh();
    });
  }

  test('a session without a return URL or confirmation (the npm start tour): Allow ends on "connected" and nothing else', async () => {
    const session = await w.gateway.linking.sessions.start({ externalUserId: 'browser-forge-dave', route: 'connect', cloudId: inst.cloudId, requireConfirmation: false, ttlMs: 600_000 });
    const page = await pages.newPage(390);
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.dave);
    await page.goto(session.url);
    const frame = page.frameLocator('#forge-app-frame');
    await frame.locator('body[data-ready="true"]').waitFor();
    await frame.locator('#allow').click();
    await frame.locator('body[data-decided="linked"]').waitFor();
    // The outcome is the notice alone: no return button, and no stray text (a null once showed as "null").
    assert.equal(await frame.locator('#outcome > *').count(), 1);
    assert.equal((await frame.locator('#outcome').innerText()).replace(/\s+/g, ' ').trim(), 'Your account is connected onbehalf can now act as you on this site. You can close this page.');
    await screenshot(page, 'forge-allow', '390-04-linked-without-return');
    await pages.fresh();
  });

  test('the settings page: a site admin sets the policy to any_user and the gateway acts as someone who never connected', async () => {
    const page = await pages.newPage(1280);
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.alice);
    await page.goto(inst.pages.find((p) => p.type === 'confluence:globalSettings')?.url ?? '');
    const frame = page.frameLocator('#forge-app-frame');
    await frame.locator('body[data-ready="true"]').waitFor();
    await frame.locator('#acting').selectOption('any_user');
    await frame.locator('#save-policy').click();
    await frame.locator('#outcome .notice-title', { hasText: 'Policy saved' }).waitFor();
    await assertLayout(appFrame(page), 'Forge settings frame');
    await screenshot(page, 'forge-allow', 'settings');
    await w.gateway.background.drain();
    const token = await w.api<{ accessToken: string; route: string; apiBaseUrl: string }>('POST', '/v1/tokens', { accountId: DEFAULT_ACCOUNTS.dave, site: 'acme' });
    assert.equal(token.status, 200, JSON.stringify(token.body));
    assert.equal(token.body.route, 'forge');
    const me = await fetch(`${token.body.apiBaseUrl}/rest/api/user/current`, { headers: { authorization: `Bearer ${token.body.accessToken}` } });
    assert.equal(((await me.json()) as { accountId: string }).accountId, DEFAULT_ACCOUNTS.dave);
    await pages.fresh();
  });
});

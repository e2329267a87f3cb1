import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { browserSuite } from './support/browser-suite.js';
import { browserSkipReason, screenshot } from './support/launch-browser.js';
import { assertLayout, signIn } from './support/page-checks.js';

interface LinkWire {
  id: string;
  cloudId: string;
  accountId: string;
  status: string;
  route: string;
}

const skip = browserSkipReason();

/**
 * The 3LO route in real Chromium: link URL -> the sandbox's Atlassian consent page -> the gateway's
 * callback -> landing page or site choice -> linked; a refusal; a consent for the wrong site; and the
 * self-service page where a user disconnects.
 */
describe('Atlassian sign-in (3LO) consent in Chromium', { skip: skip ?? false, timeout: 600_000 }, () => {
  // Connect on acme only: globex is reachable through 3LO alone, so acting there proves the 3LO grant.
  const { w, newPage, fresh } = browserSuite({ sites: ['acme'] });
  const start = async (body: Record<string, unknown>) => {
    const res = await w.api<{ id: string; url: string }>('POST', '/v1/link-sessions', { route: 'oauth', ...body });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  };
  const linksOf = async (externalUserId: string) => (await w.api<{ links: LinkWire[] }>('GET', `/v1/links?externalUserId=${encodeURIComponent(externalUserId)}`)).body.links;
  const cloudIdOf = (key: string) => w.sandbox.sandbox.control.discovery().sites.find((s) => s.key === key)?.cloudId ?? '';
  /** Opens the link and lands on Atlassian's (the sandbox's) consent page. */
  async function toAtlassianConsent(page: Page, url: string): Promise<void> {
    await page.goto(url);
    assert.ok(page.url().startsWith(`${w.sandboxUrl}/authorize?`), `the link leads to Atlassian's consent: ${page.url()}`);
    await page.getByRole('button', { name: 'Accept' }).waitFor();
  }

  test('(b) Frank accepts on Atlassian, lands on the gateway\'s page, and the gateway then acts as him on his one site', async () => {
    const session = await start({ externalUserId: 'crm-frank', requireConfirmation: false });
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.frank);
    await toAtlassianConsent(page, session.url);
    await screenshot(page, 'oauth', '01-atlassian-consent');
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL(`${w.gatewayUrl}/oauth/callback?**`);
    const landing = page.getByRole('status');
    assert.match(await landing.innerText(), /Your account is connected[\s\S]*crm-frank[\s\S]*What to do next:/);
    assert.match(await page.locator('.ob-card').innerText(), /\/s\/globex/, 'names the site that was linked');
    assert.match(await page.locator('.ob-abilities').innerText(), /show you as the author/, 'says what the app may do, from the scopes');
    await screenshot(page, 'oauth', '02-landing-connected');
    await page.setViewportSize({ width: 375, height: 800 });
    await assertLayout(page, 'landing page at 375px');
    await screenshot(page, 'oauth', '03-landing-connected-375px');

    const [link] = await linksOf('crm-frank');
    assert.deepEqual([link?.route, link?.status, link?.accountId, link?.cloudId], ['oauth', 'linked', DEFAULT_ACCOUNTS.frank, cloudIdOf('globex')]);
    const created = await fetch(`${w.gatewayUrl}/v1/act/crm-frank/globex/api/v2/pages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ spaceId: '65539', title: 'Frank through 3LO, from a browser', body: { representation: 'storage', value: '<p>3lo</p>' } }),
    });
    assert.equal(created.status, 200, await created.clone().text());
    assert.equal(((await created.json()) as { authorId: string }).authorId, DEFAULT_ACCOUNTS.frank);

    // Reloading the callback (Back, a double submit) cannot run the sign-in twice.
    const replay = await page.reload();
    assert.equal(replay?.status(), 400);
    assert.match(await page.getByRole('alert').innerText(), /already[\s\S]*What to do next:/);
    await screenshot(page, 'oauth', '04-error-callback-replayed');
    await fresh();
  });

  test('(b) Alice reaches two sites: she chooses one, returns to the app with the code, and only that site is linked', async () => {
    const session = await start({ externalUserId: 'crm-alice', returnUrl: `${w.appUrl}/linked` });
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.alice);
    await toAtlassianConsent(page, session.url);
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.getByRole('heading', { name: 'Which Confluence sites should onbehalf use?' }).waitFor();
    assert.match(await page.locator('main').innerText(), /Alice Admin[\s\S]*crm-alice/, 'names the Atlassian account and the app user');
    assert.equal(await page.getByRole('checkbox').count(), 2);
    await screenshot(page, 'oauth', '05-site-choice');
    await page.setViewportSize({ width: 375, height: 800 });
    await assertLayout(page, 'site choice at 375px');
    await screenshot(page, 'oauth', '06-site-choice-375px');
    assert.deepEqual(await linksOf('crm-alice'), [], 'nothing is linked before the choice');

    await page.getByRole('checkbox', { name: /Acme Corp/ }).check();
    await page.getByRole('button', { name: 'Connect the chosen sites' }).click();
    await page.waitForURL(`${w.appUrl}/linked?**`);
    const back = new URL(page.url());
    assert.equal(back.searchParams.get('onbehalf_status'), 'pending_confirmation');
    const confirmed = await w.api('POST', `/v1/link-sessions/${session.id}/confirm`, { code: back.searchParams.get('onbehalf_code'), externalUserId: 'crm-alice' });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    const links = await linksOf('crm-alice');
    assert.deepEqual(links.map((l) => [l.cloudId, l.route, l.status]), [[cloudIdOf('acme'), 'oauth', 'linked']]);
    await fresh();
  });

  test('(b) Carol denies on Atlassian: a clear page, the session says denied, nothing is linked', async () => {
    const session = await start({ externalUserId: 'crm-carol' });
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.carol);
    await toAtlassianConsent(page, session.url);
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL(`${w.gatewayUrl}/oauth/callback?**`);
    assert.match(await page.getByRole('status').innerText(), /Nothing was connected[\s\S]*What to do next:/);
    await screenshot(page, 'oauth', '07-denied');
    const viewed = await w.api<{ status: string }>('GET', `/v1/link-sessions/${session.id}`);
    assert.equal(viewed.body.status, 'denied');
    assert.deepEqual(await linksOf('crm-carol'), []);
    await fresh();
  });

  test('a consent that does not cover the link\'s site is refused with a next step, and nothing is linked', async () => {
    const session = await start({ externalUserId: 'crm-frank-acme', site: 'acme' });
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.frank);
    await toAtlassianConsent(page, session.url);
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL(`${w.gatewayUrl}/oauth/callback?**`);
    assert.match(await page.getByRole('alert').innerText(), /This link is for another site[\s\S]*What to do next:/);
    await screenshot(page, 'oauth', '08-error-other-site');
    assert.deepEqual(await linksOf('crm-frank-acme'), []);
    await fresh();
  });

  test('/oauth/manage: Frank signs in again, sees his connection, disconnects it, and the proxy refuses the next call', async () => {
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.frank);
    await page.goto(`${w.gatewayUrl}/oauth/manage`);
    assert.ok(page.url().startsWith(`${w.sandboxUrl}/authorize?`));
    assert.equal(new URL(page.url()).searchParams.get('scope'), 'read:me', 'managing asks for nothing but who you are');
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.getByRole('heading', { name: 'Your connections to onbehalf' }).waitFor();
    assert.match(await page.locator('#ob-links').innerText(), /\/s\/globex\s+crm-frank \(Connected\)/);
    await screenshot(page, 'oauth', '09-manage');
    await page.setViewportSize({ width: 375, height: 800 });
    await assertLayout(page, 'manage page at 375px');
    await screenshot(page, 'oauth', '10-manage-375px');
    await page.setViewportSize({ width: 1280, height: 800 });

    await page.getByRole('button', { name: /Disconnect crm-frank/ }).click();
    assert.match(await page.getByRole('status').innerText(), /Disconnected[\s\S]*crm-frank/);
    await screenshot(page, 'oauth', '11-disconnected');
    assert.equal((await linksOf('crm-frank'))[0]?.status, 'revoked');
    const refused = await fetch(`${w.gatewayUrl}/v1/act/crm-frank/globex/api/v2/pages/98311`, { headers: { authorization: `Bearer ${w.apiKey}` } });
    assert.equal(refused.status, 404);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'USER_NOT_LINKED');

    await page.getByRole('link', { name: 'Back to your connections' }).click();
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.locator('#ob-no-links').waitFor();
    await screenshot(page, 'oauth', '12-manage-empty');
    await fresh();
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { CONFIGURE_PAGE_KEY } from '../../src/tenants/connect-descriptor.js';
import { browserSuite } from './support/browser-suite.js';
import { browserSkipReason, screenshot } from './support/launch-browser.js';
import { assertLayout, gatewayFrame, signIn } from './support/page-checks.js';

const skip = browserSkipReason();

/**
 * (c) and (d) on the admin page that lives inside Confluence (the Connect configure page): a site admin
 * maps a user, the gateway acts as them, the admin revokes the link and the next proxy call is refused.
 * The same through the admin console outside Confluence: admin-console.test.ts.
 */
describe('admin mapping and revocation inside Confluence, in Chromium', { skip: skip ?? false, timeout: 600_000 }, () => {
  const { w, newPage, fresh } = browserSuite({ sites: ['acme'] });
  const configureUrl = () => `${w.site.baseUrl}/plugins/servlet/ac/${encodeURIComponent(w.gateway.config.connect.appKey)}/${CONFIGURE_PAGE_KEY}`;
  async function configureFrame(page: Page) {
    await page.goto(configureUrl());
    const frame = page.frameLocator('iframe.ap-iframe');
    await frame.getByRole('heading', { name: 'Configure onbehalf' }).waitFor();
    // The page's script is the last thing to arrive; wait for AP (all.js) before clicking.
    await gatewayFrame(page, w.gatewayUrl).waitForFunction('window.AP && window.AP.context');
    return frame;
  }
  const readPage = (externalUserId: string) => fetch(`${w.gatewayUrl}/v1/act/${encodeURIComponent(externalUserId)}/acme/api/v2/pages/98305`, { headers: { authorization: `Bearer ${w.apiKey}` } });

  test('(c) Alice, a site admin, finds Carol by name and maps her; with the admin_mapped policy the gateway acts as Carol', async () => {
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.alice);
    const frame = await configureFrame(page);
    assert.match(await frame.locator('#ob-configure').innerText(), /signed in as Alice Admin/, 'greets the admin by name, not by account ID');
    await screenshot(page, 'admin-in-confluence', '01-configure');

    await frame.getByRole('radio', { name: /Also users an admin mapped/ }).check();
    await frame.locator('#ob-save-policy').click();
    await frame.locator('#ob-status').filter({ hasText: 'Policy saved.' }).waitFor();

    await frame.getByLabel('Find people on this site by name').fill('Carol');
    await frame.locator('#ob-search').click();
    await frame.getByLabel('User ID for Carol Jones').fill('crm-carol');
    // Regression: the page never resized its frame, so Confluence's fixed 600px cut off the search results.
    await page.waitForFunction('document.querySelector("iframe.ap-iframe").getBoundingClientRect().height > 600');
    await frame.getByRole('heading', { name: 'Links on this site' }).scrollIntoViewIfNeeded();
    const frameHeight = () => page.evaluate<number>('document.querySelector("iframe.ap-iframe").getBoundingClientRect().height');
    const before = await frameHeight();
    await screenshot(page, 'admin-in-confluence', '02-search-result');
    // Regression: in quirks mode (no doctype) the full-page screenshot's taller window made the frame grow.
    assert.equal(await frameHeight(), before, 'the frame keeps its height when the window grows');
    await assertLayout(gatewayFrame(page, w.gatewayUrl), 'configure page at 1280px');
    await frame.getByRole('button', { name: 'Map' }).click();
    await frame.locator('#ob-status').filter({ hasText: 'Mapped crm-carol.' }).waitFor();
    await screenshot(page, 'admin-in-confluence', '03-mapped');

    const { body } = await w.api<{ links: { route: string; status: string; accountId: string }[] }>('GET', '/v1/links?externalUserId=crm-carol');
    assert.deepEqual(body.links.map((l) => [l.route, l.status, l.accountId]), [['admin', 'linked', DEFAULT_ACCOUNTS.carol]]);
    const res = await readPage('crm-carol');
    assert.equal(res.status, 200, await res.clone().text());
    await fresh();
  });

  test('(d) Alice revokes the link on the same page, and the next proxy call as Carol is refused', async () => {
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.alice);
    const frame = await configureFrame(page);
    const row = frame.locator('#ob-links tr', { hasText: 'crm-carol' });
    await row.waitFor();
    await page.setViewportSize({ width: 375, height: 800 });
    await assertLayout(gatewayFrame(page, w.gatewayUrl), 'configure page at 375px');
    await screenshot(page, 'admin-in-confluence', '04-links-375px');
    await page.setViewportSize({ width: 1280, height: 800 });

    await row.getByRole('button', { name: 'Revoke' }).click();
    await frame.locator('#ob-status').filter({ hasText: 'Link revoked.' }).waitFor();
    assert.equal(await row.count(), 0, 'the row is gone');
    await frame.getByText('No links yet.').waitFor();
    await screenshot(page, 'admin-in-confluence', '05-revoked');
    const refused = await readPage('crm-carol');
    assert.equal(refused.status, 404);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'USER_NOT_LINKED');
    await fresh();
  });

  test('a user who is not a site admin is refused the configure page by Confluence itself', async () => {
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.bob);
    const res = await page.goto(configureUrl());
    assert.equal(res?.status(), 403, 'the sandbox, like Confluence, shows configure pages to admins only');
    await screenshot(page, 'admin-in-confluence', '06-not-an-admin');
    await fresh();
  });
});

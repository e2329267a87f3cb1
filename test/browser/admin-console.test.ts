import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { exampleForgeManifest, EXAMPLE_APP_ID } from '../../src/sandbox/forge/example-manifest.js';
import { seedConsoleData } from '../support/seed-console-data.js';
import { browserSuite } from './support/browser-suite.js';
import { browserSkipReason, screenshot } from './support/launch-browser.js';
import { appFrame, assertLayout, signIn } from './support/page-checks.js';

const skip = browserSkipReason();
const SECRET = randomBytes(32).toString('base64url');

/** Signs in to the console with the admin secret, as a person types it. */
async function consoleSignIn(page: Page, gatewayUrl: string): Promise<void> {
  await page.goto(`${gatewayUrl}/admin/sign-in`);
  await page.getByLabel('Admin secret').fill(SECRET);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${gatewayUrl}/admin`);
}

/**
 * The admin console outside Confluence, in Chromium: (a)'s last step (the console shows a link a user made),
 * (c) an admin maps a user, (d) an admin revokes a link and the next proxy call is refused, and a
 * screenshot of every console page at desktop and phone width.
 */
describe('admin console in Chromium', { skip: skip ?? false, timeout: 600_000 }, () => {
  const { w, newPage, fresh } = browserSuite({ sites: ['acme', 'globex'], env: { ONBEHALF_ADMIN_SECRET: SECRET } });
  const linksOf = async (externalUserId: string) =>
    (await w.api<{ links: { id: string; route: string; status: string; accountId: string }[] }>('GET', `/v1/links?externalUserId=${encodeURIComponent(externalUserId)}`)).body.links;

  test('(a) Bob links through the consent page in Confluence, and the console lists the link', async () => {
    const session = (await w.api<{ id: string; url: string }>('POST', '/v1/link-sessions', { externalUserId: 'crm-bob', route: 'connect', site: 'acme', requireConfirmation: false })).body;
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.bob);
    await page.goto(session.url);
    const frame = await appFrame(page);
    await frame.getByRole('button', { name: 'Allow' }).click();
    await frame.getByRole('status').filter({ hasText: 'Your account is connected' }).waitFor();

    await consoleSignIn(page, w.gatewayUrl);
    await page.goto(`${w.gatewayUrl}/admin/links?q=crm-bob`);
    const row = page.locator('#links tr', { hasText: 'crm-bob' });
    await row.waitFor();
    assert.match(await row.innerText(), /linked/);
    await screenshot(page, 'admin-console', '01-links-after-consent');
    await fresh();
  });

  test('(c) an admin maps Carol on acme from the console; the link is an admin mapping', async () => {
    const page = await newPage();
    await consoleSignIn(page, w.gatewayUrl);
    await page.goto(`${w.gatewayUrl}/admin/mapping`);
    await page.locator('#search-site').selectOption(w.site.cloudId);
    await page.getByLabel('Name').fill('Carol');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByLabel('Your user ID for Carol Jones').fill('crm-carol');
    await screenshot(page, 'admin-console', '02-mapping-search');
    await page.getByRole('button', { name: 'Map' }).click();
    await page.locator('.notice, [role="status"]').first().waitFor();
    await screenshot(page, 'admin-console', '03-mapping-done');
    const links = await linksOf('crm-carol');
    assert.deepEqual(links.map((l) => [l.route, l.status, l.accountId]), [['admin', 'linked', DEFAULT_ACCOUNTS.carol]]);
    await fresh();
  });

  test('(d) an admin revokes Bob\'s link from the console, and the next proxy call as Bob is refused', async () => {
    const before = await fetch(`${w.gatewayUrl}/v1/act/crm-bob/acme/api/v2/pages/98305`, { headers: { authorization: `Bearer ${w.apiKey}` } });
    assert.equal(before.status, 200, 'acting as Bob works before the revoke');
    const page = await newPage();
    await consoleSignIn(page, w.gatewayUrl);
    await page.goto(`${w.gatewayUrl}/admin/links?q=crm-bob`);
    await page.getByRole('link', { name: /Details of the link of crm-bob/ }).click();
    await screenshot(page, 'admin-console', '04-link-detail');
    await page.getByRole('button', { name: 'Revoke link of crm-bob' }).click();
    await page.waitForURL(/done=revoked/);
    await screenshot(page, 'admin-console', '05-link-revoked');
    assert.equal((await linksOf('crm-bob'))[0]?.status, 'revoked');
    const refused = await fetch(`${w.gatewayUrl}/v1/act/crm-bob/acme/api/v2/pages/98305`, { headers: { authorization: `Bearer ${w.apiKey}` } });
    assert.equal(refused.status, 404);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'USER_NOT_LINKED');
    await fresh();
  });
});

/** No table region scrolls sideways: every column, status and action included, is on screen. */
async function assertTablesFit(page: Page, what: string): Promise<void> {
  const wide = await page.evaluate<string[]>('[...document.querySelectorAll(".table-wrap")].filter((t) => t.scrollWidth > t.clientWidth + 1).map((t) => t.querySelector("table").id + " " + t.scrollWidth + ">" + t.clientWidth)');
  assert.deepEqual(wide, [], `${what}: tables wider than their region`);
}

/** Screenshots of every console page, in a world of its own so seeded data cannot collide with the flows above. */
describe('admin console pages in Chromium', { skip: skip ?? false, timeout: 600_000 }, () => {
  const { w, newPage, fresh } = browserSuite({ sites: ['acme', 'globex'], env: { ONBEHALF_ADMIN_SECRET: SECRET, ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID } });

  test('every console page, populated, at 1280 and 375 px: standards mode, nothing scrolls sideways', async () => {
    await seedConsoleData({ gateway: w.gateway, sandbox: w.sandbox.sandbox, descriptorUrl: `${w.gatewayUrl}/atlassian-connect.json` });
    // The Forge page with an installation (the app's remote is this gateway) and a link made through it.
    const forge = await w.sandbox.sandbox.forge.install('acme', { manifest: exampleForgeManifest({ baseUrl: w.gatewayUrl }) });
    assert.ok(forge.ok, JSON.stringify(forge));
    await w.gateway.background.drain();
    const forgeTenant = await w.gateway.repos.tenants.find('forge', EXAMPLE_APP_ID, forge.value.installationId);
    assert.ok(forgeTenant);
    let free: string | undefined;
    for (const id of Object.values(DEFAULT_ACCOUNTS)) if (!free && !(await w.gateway.repos.links.liveForAccount(w.site.cloudId, id))) free = id;
    assert.ok(free, 'a seeded account without a link on acme');
    await w.gateway.repos.links.create({ externalUserId: 'crm-forge-user', cloudId: w.site.cloudId, accountId: free, route: 'forge', scopes: [], status: 'linked', evidence: {}, tenantId: forgeTenant.id });
    const page = await newPage();
    await page.goto(`${w.gatewayUrl}/admin/sign-in`);
    await screenshot(page, 'admin-console', '10-sign-in');
    await consoleSignIn(page, w.gatewayUrl);
    const pages: [string, string][] = [
      ['11-overview', '/admin'],
      ['11b-forge', '/admin/forge'],
      ['12-links', '/admin/links'],
      ['13-link-sessions', '/admin/link-sessions'],
      ['14-accounts', '/admin/accounts'],
      ['15-mapping', '/admin/mapping'],
      ['16-audit', '/admin/audit'],
      ['16b-activity', '/admin/activity'],
      ['17-api-keys', '/admin/api-keys'],
      ['18-policies', '/admin/policies'],
      ['19-policy-acme', `/admin/policies/${encodeURIComponent(w.site.cloudId)}`],
    ];
    for (const [name, path] of pages) {
      for (const width of [1280, 375]) {
        await page.setViewportSize({ width, height: 800 });
        const res = await page.goto(`${w.gatewayUrl}${path}`);
        assert.equal(res?.status(), 200, `${path} answers 200`);
        await assertLayout(page, `${path} at ${width}px`);
        if (width === 375) await assertTablesFit(page, `${path} at 375px`);
        await screenshot(page, 'admin-console', `${name}${width === 375 ? '-375px' : ''}`);
      }
    }
    // Issue 15: the audit log's details ran off-screen on a 1366 px laptop.
    await page.setViewportSize({ width: 1366, height: 800 });
    await page.goto(`${w.gatewayUrl}/admin/audit`);
    await assertTablesFit(page, '/admin/audit at 1366px');
    // ... and on a phone the chart's labels were about 5 px tall.
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${w.gatewayUrl}/admin`);
    const labelPx = await page.evaluate<number>('document.querySelector("figure.chart svg text").getBoundingClientRect().height');
    assert.ok(labelPx >= 9, `chart labels are readable on a phone (${labelPx}px tall)`);
    await fresh();
  });
});

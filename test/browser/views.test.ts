import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { CONFIGURE_PAGE_KEY } from '../../src/tenants/connect-descriptor.js';
import { browserSuite } from './support/browser-suite.js';
import { browserSkipReason, screenshot } from './support/launch-browser.js';
import { appFrame, assertLayout, gatewayFrame, signIn } from './support/page-checks.js';

const skip = browserSkipReason();
const SECRET = randomBytes(32).toString('base64url');
const WIDTHS = [1280, 375] as const;

async function consoleSignIn(page: Page, gatewayUrl: string): Promise<void> {
  await page.goto(`${gatewayUrl}/admin/sign-in`);
  await page.getByLabel('Admin secret').fill(SECRET);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${gatewayUrl}/admin`);
}

/** Screenshots at desktop and phone width, each checked for standards mode and no sideways scrolling. */
async function atBothWidths(page: Page, name: string, step: string, what: string): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    await assertLayout(page, `${what} at ${width}px`);
    await screenshot(page, name, `${step}${width === 375 ? '-375px' : ''}`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/**
 * Waits until Confluence's frame stops resizing to its content (the page's script asks for a new height
 * after every layout change); a screenshot taken before that shows the frame's lower part unpainted.
 */
async function settledFrame(page: Page): Promise<void> {
  let last = -1;
  for (let i = 0; i < 50; i++) {
    const h = await page.evaluate<number>('new Promise((r) => setTimeout(() => r(document.querySelector("iframe.ap-iframe").getBoundingClientRect().height), 150))');
    if (h === last) return;
    last = h;
  }
}

/** The icon a page names answers 200 (before the fix every page asked for a /favicon.ico that was a 404). */
async function assertIcon(page: Page): Promise<void> {
  const href = await page.evaluate<string | null>('document.querySelector("link[rel=icon]") && document.querySelector("link[rel=icon]").href');
  assert.ok(href, `${page.url()} names an icon`);
  assert.equal((await fetch(href)).status, 200, `${href} answers`);
  assert.equal((await fetch(new URL('/favicon.ico', page.url()))).status, 200, `/favicon.ico on ${new URL(page.url()).origin}`);
}

/**
 * What a newcomer looks at (issue 15): the sandbox's Confluence showing the page created as Alice, the
 * gateway's landing page, the console's activity view, and the pages fixed in that issue, at desktop and
 * phone width.
 */
describe('the views a newcomer looks at, in Chromium', { skip: skip ?? false, timeout: 600_000 }, () => {
  const { w, newPage, fresh } = browserSuite({ sites: ['acme'], env: { ONBEHALF_ADMIN_SECRET: SECRET } });
  let created: { id: string; _links: { webui: string; base: string } } | undefined;

  test('a page created as demo-alice through the proxy opens in the sandbox\'s Confluence and shows Alice as its author, via the app', async () => {
    const session = (await w.api<{ url: string }>('POST', '/v1/link-sessions', { externalUserId: 'demo-alice', route: 'connect', site: 'acme', requireConfirmation: false })).body;
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.alice);
    await page.goto(session.url);
    const frame = await appFrame(page);
    await frame.getByRole('button', { name: 'Allow' }).click();
    await frame.getByRole('status').filter({ hasText: 'Your account is connected' }).waitFor();

    const res = await fetch(`${w.gatewayUrl}/v1/act/demo-alice/acme/api/v2/pages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.apiKey}`, 'content-type': 'application/json', 'x-request-id': 'browser-create-1' },
      body: JSON.stringify({ spaceId: '65537', title: 'Hello from onbehalf', body: { representation: 'storage', value: '<p>Written by <strong>demo-alice</strong> through the gateway.</p><script>alert(1)</script>' } }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    created = (await res.json()) as typeof created;
    await page.goto(created!._links.base + created!._links.webui);
    assert.equal(await page.locator('#page-title').innerText(), 'Hello from onbehalf');
    assert.equal(await page.locator('[data-author]').innerText(), 'Alice Admin');
    assert.equal(await page.locator('[data-via]').innerText(), w.gateway.config.connect.appName);
    assert.match(await page.locator('#page-body').innerText(), /Written by demo-alice through the gateway\./);
    assert.equal(await page.locator('#page-body script').count(), 0, 'the body\'s script is not markup');
    assert.ok(await page.locator('nav[aria-label="Page tree"] a[aria-current="page"]', { hasText: 'Hello from onbehalf' }).isVisible(), 'the tree marks the page');
    await assertIcon(page);
    await atBothWidths(page, 'sandbox-wiki', '01-page-created-as-alice', 'the created page');

    await page.goto(`${w.site.baseUrl}`);
    assert.ok(await page.locator('#recent a', { hasText: 'Hello from onbehalf' }).isVisible(), 'the site lists it as recent');
    await atBothWidths(page, 'sandbox-wiki', '02-site-home', 'the site home');
    await page.locator('#spaces a', { hasText: 'Engineering' }).click();
    await page.locator('nav[aria-label="Page tree"]').waitFor();
    await atBothWidths(page, 'sandbox-wiki', '03-space', 'a space');
    await page.goto(w.sandboxUrl);
    await page.getByRole('link', { name: /Open .*'s Confluence/ }).first().click();
    await page.waitForURL(/\/s\/acme\/wiki$/);
    await fresh();
  });

  test('the landing page says what runs and leads to the console, docs, OpenAPI and health', async () => {
    const page = await newPage();
    const res = await page.goto(`${w.gatewayUrl}/`);
    assert.equal(res?.status(), 200);
    assert.match(await page.locator('#landing-status').innerText(), /sandbox/);
    for (const name of ['Admin console', 'Documentation', 'OpenAPI 3.1', '/healthz']) assert.ok(await page.getByRole('link', { name, exact: true }).isVisible(), name);
    await assertIcon(page);
    await atBothWidths(page, 'landing', '01-landing', 'the landing page');
    await page.getByRole('link', { name: 'Documentation', exact: true }).click();
    await page.locator('#docs').waitFor();
    await atBothWidths(page, 'landing', '02-docs', 'the docs index');
    await page.goto(`${w.gatewayUrl}/`);
    await page.getByRole('link', { name: 'Admin console', exact: true }).click();
    await page.getByLabel('Admin secret').waitFor();
    await fresh();
  });

  test('the activity view lists the call that created the page, filters it, and "try it" calls Confluence as demo-alice', async () => {
    const page = await newPage();
    await consoleSignIn(page, w.gatewayUrl);
    await page.goto(`${w.gatewayUrl}/admin/activity`);
    const row = page.locator('#activity tr', { hasText: 'browser-create-1' });
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /POST \/api\/v2\/pages/);
    assert.match(text, /demo-alice/);
    assert.match(text, new RegExp(DEFAULT_ACCOUNTS.alice));
    assert.match(text, /200/);
    assert.ok(!(await page.content()).includes(w.apiKey), 'never the API key');
    await assertIcon(page);

    await page.getByLabel('User ID', { exact: true }).first().fill('demo-alice');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/user=demo-alice/);
    await atBothWidths(page, 'activity', '01-filtered', 'the activity view');

    await page.locator('#call-user').fill('demo-alice');
    await page.locator('#call-path').fill('/api/v2/pages/98305');
    await page.getByRole('button', { name: 'Send GET' }).click();
    await page.locator('#try-result').waitFor();
    assert.match(await page.locator('#try-result').innerText(), /Confluence answered 200/);
    assert.match(await page.locator('pre.preview').innerText(), /Engineering Home/);
    await atBothWidths(page, 'activity', '02-try-it-call', 'a test call');
    const status375 = page.locator('#activity tbody tr').first().locator('td').nth(1);
    await page.setViewportSize({ width: 375, height: 800 });
    assert.ok(await status375.isVisible(), 'at phone width the status is on screen');
    const box = await status375.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `the status cell lies within the screen: ${JSON.stringify(box)}`);
    await fresh();
  });

  test('refreshing the consent page after Allow shows the connected state, not "already used"', async () => {
    const session = (await w.api<{ url: string }>('POST', '/v1/link-sessions', { externalUserId: 'crm-carol', route: 'connect', site: 'acme', requireConfirmation: false })).body;
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.carol);
    await page.goto(session.url);
    let frame = await appFrame(page);
    await frame.getByRole('button', { name: 'Allow' }).click();
    await frame.getByRole('status').filter({ hasText: 'Your account is connected' }).waitFor();
    await page.reload();
    frame = await appFrame(page);
    await frame.locator('#ob-done').filter({ hasText: 'Your account is connected' }).waitFor();
    assert.equal(await frame.getByRole('alert').count(), 0, 'no red error');
    await assertIcon(page);
    await settledFrame(page);
    await screenshot(page, 'consent', '01-refresh-after-allow');
    await fresh();
  });

  test('the configure page names linked accounts, keeps Revoke on one line and has a usable search box; a non-admin gets a styled refusal', async () => {
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.alice);
    await page.goto(`${w.site.baseUrl}/plugins/servlet/ac/${encodeURIComponent(w.gateway.config.connect.appKey)}/${CONFIGURE_PAGE_KEY}`);
    const frame = page.frameLocator('iframe.ap-iframe');
    await frame.getByRole('heading', { name: `Configure ${w.gateway.config.connect.appName}` }).waitFor();
    assert.equal(await page.locator('h1').count(), 0, 'one heading: the app\'s own, inside the frame');
    const carolRow = frame.locator('#ob-links tr', { hasText: 'crm-carol' });
    assert.match(await carolRow.innerText(), /Carol Jones/, 'the name the consent page learned');
    assert.match(await frame.locator('#ob-links tr', { hasText: 'demo-alice' }).innerText(), /Alice Admin/);
    const revoke = carolRow.getByRole('button', { name: /Revoke/ });
    const box = await revoke.boundingBox();
    assert.ok(box && box.height < 48, `Revoke stays on one line: ${JSON.stringify(box)}`);
    const search = await frame.locator('#ob-q').boundingBox();
    assert.ok(search && search.width >= 200 && search.height >= 36, `the search box is a real field: ${JSON.stringify(search)}`);
    await assertLayout(gatewayFrame(page, w.gatewayUrl), 'configure page at 1280px');
    await settledFrame(page);
    await screenshot(page, 'configure', '01-names-and-revoke');
    await page.setViewportSize({ width: 375, height: 800 });
    await assertLayout(gatewayFrame(page, w.gatewayUrl), 'configure page at 375px');
    await settledFrame(page);
    await screenshot(page, 'configure', '02-names-and-revoke-375px');
    await fresh();

    const bobPage = await newPage();
    await signIn(bobPage, w.sandboxUrl, DEFAULT_ACCOUNTS.bob);
    const res = await bobPage.goto(`${w.site.baseUrl}/plugins/servlet/ac/${encodeURIComponent(w.gateway.config.connect.appKey)}/${CONFIGURE_PAGE_KEY}`);
    assert.equal(res?.status(), 403);
    assert.match(await bobPage.locator('main').innerText(), /Only site administrators can open/);
    assert.doesNotMatch(await bobPage.evaluate<string>('getComputedStyle(document.body).fontFamily'), /^"?Times/, 'styled, not the browser default');
    await atBothWidths(bobPage, 'configure', '03-not-an-admin', 'the refusal');
    await fresh();
  });
});

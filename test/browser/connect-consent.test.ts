import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { LINK_PAGE_KEY } from '../../src/tenants/connect-descriptor.js';
import { browserSuite } from './support/browser-suite.js';
import { browserSkipReason, screenshot } from './support/launch-browser.js';
import { appFrame, assertLayout, gatewayFrame, signIn } from './support/page-checks.js';

interface Session {
  id: string;
  url: string;
}
interface LinkWire {
  id: string;
  externalUserId: string;
  accountId: string;
  status: string;
  route: string;
}

const skip = browserSkipReason();

/**
 * The Connect route as a person lives it, in real Chromium: Atlassian sign-in, the link URL, the gateway's
 * consent page inside the sandbox's Confluence page (signed iframe, all.js, postMessage, context JWTs),
 * Allow / Deny, the return to the app with the completion code, and Connected apps with Disconnect.
 */
describe('Connect consent in Chromium', { skip: skip ?? false, timeout: 600_000 }, () => {
  const { w, newPage, fresh } = browserSuite({ sites: ['acme', 'globex'] });
  const start = async (body: Record<string, unknown>) => {
    const res = await w.api<Session>('POST', '/v1/link-sessions', body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  };
  const linksOf = async (externalUserId: string) => (await w.api<{ links: LinkWire[] }>('GET', `/v1/links?externalUserId=${encodeURIComponent(externalUserId)}`)).body.links;
  const createPage = (externalUserId: string, title: string) =>
    fetch(`${w.gatewayUrl}/v1/act/${encodeURIComponent(externalUserId)}/acme/api/v2/pages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ spaceId: '65537', title, body: { representation: 'storage', value: '<p>from the browser test</p>' } }),
    });
  const linkPageUrl = (session?: string) =>
    `${w.site.baseUrl}/plugins/servlet/ac/${encodeURIComponent(w.gateway.config.connect.appKey)}/${LINK_PAGE_KEY}${session ? `?ac.session=${encodeURIComponent(session)}` : ''}`;

  test('(a) Bob signs in, opens the link, allows in the Confluence frame, returns to the app; the app confirms and acts as Bob', async () => {
    const session = await start({ externalUserId: 'crm-bob', route: 'connect', site: 'acme', returnUrl: `${w.appUrl}/linked` });
    const page = await newPage();
    await page.goto(`${w.sandboxUrl}/login`);
    await screenshot(page, 'connect', '01-sandbox-sign-in');
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.bob);

    await page.goto(session.url);
    assert.ok(page.url().startsWith(`${w.site.baseUrl}/plugins/servlet/ac/`), `the link leads into Confluence: ${page.url()}`);
    const frame = await appFrame(page);
    assert.notEqual(new URL(gatewayFrame(page, w.gatewayUrl).url()).hostname, new URL(page.url()).hostname, 'the consent page is a cross-site frame, as in real Confluence');
    await frame.getByRole('heading', { name: 'Allow onbehalf to act as you in Confluence?' }).waitFor();
    const facts = await frame.locator('.ob-card').innerText();
    assert.match(facts, /Bob Builder/, 'names the Atlassian account, as Confluence signed it');
    assert.match(facts, /crm-bob/, "names the app's user");
    assert.match(facts, /\/s\/acme/, 'names the site');
    assert.match(await frame.locator('.ob-abilities').innerText(), /show you as the author/, 'says what the app may do');
    await assertLayout(gatewayFrame(page, w.gatewayUrl), 'consent frame at 1280px');
    await screenshot(page, 'connect', '02-consent');

    await frame.getByRole('button', { name: 'Allow' }).click();
    const status = frame.getByRole('status').filter({ hasText: 'Almost done' });
    await status.waitFor();
    assert.match(await frame.locator('#ob-links').innerText(), /crm-bob\s+Waiting for onbehalf to confirm/);
    await screenshot(page, 'connect', '03-allowed-pending-confirmation');
    assert.equal((await linksOf('crm-bob'))[0]?.status, 'pending_confirmation', 'not usable before the app confirms (forwarded-link guard)');

    // The return link leaves Confluence for the app, carrying the one-time code.
    await frame.getByRole('link', { name: 'Return to onbehalf' }).click();
    await page.waitForURL(`${w.appUrl}/linked?**`);
    const back = new URL(page.url());
    assert.equal(back.searchParams.get('onbehalf_session'), session.id);
    assert.equal(back.searchParams.get('onbehalf_status'), 'pending_confirmation');
    await screenshot(page, 'connect', '04-back-in-the-app');

    const confirmed = await w.api<LinkWire>('POST', `/v1/link-sessions/${session.id}/confirm`, { code: back.searchParams.get('onbehalf_code'), externalUserId: 'crm-bob' });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    const [link] = await linksOf('crm-bob');
    assert.equal(link?.status, 'linked');
    assert.equal(link?.accountId, DEFAULT_ACCOUNTS.bob);
    assert.equal(link?.route, 'connect');
    const created = await createPage('crm-bob', 'Written as Bob from the browser test');
    assert.equal(created.status, 200, await created.clone().text());
    assert.equal(((await created.json()) as { authorId: string }).authorId, DEFAULT_ACCOUNTS.bob);
    await fresh();
  });

  test('(a) at phone width: the consent page fits 375px, and Deny records the refusal and links nothing', async () => {
    const session = await start({ externalUserId: 'crm-carol', route: 'connect', site: 'acme', returnUrl: `${w.appUrl}/linked` });
    const page = await newPage(375);
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.carol);
    await page.goto(session.url);
    const frame = await appFrame(page);
    await frame.getByRole('button', { name: 'Deny' }).waitFor();
    await assertLayout(gatewayFrame(page, w.gatewayUrl), 'consent frame at 375px');
    await screenshot(page, 'connect', '05-consent-375px');

    await frame.getByRole('button', { name: 'Deny' }).click();
    await frame.getByRole('status').filter({ hasText: 'Nothing was connected' }).waitFor();
    assert.equal(await frame.locator('#ob-no-links').isVisible(), true, 'Connected apps still says no link exists');
    await screenshot(page, 'connect', '06-denied-375px');
    await frame.getByRole('link', { name: 'Return to onbehalf' }).click();
    await page.waitForURL(`${w.appUrl}/linked?**`);
    assert.equal(new URL(page.url()).searchParams.get('onbehalf_status'), 'denied');
    assert.equal(new URL(page.url()).searchParams.get('onbehalf_code'), null, 'a refusal carries no code');
    const viewed = await w.api<{ status: string }>('GET', `/v1/link-sessions/${session.id}`);
    assert.equal(viewed.body.status, 'denied');
    assert.deepEqual(await linksOf('crm-carol'), []);
    await fresh();
  });

  test('signed out: the link leads through Atlassian sign-in and back to the consent for the account that signed in', async () => {
    const session = await start({ externalUserId: 'crm-carol-2', route: 'connect', site: 'acme', requireConfirmation: false });
    const page = await newPage();
    await page.goto(session.url);
    assert.ok(page.url().startsWith(`${w.sandboxUrl}/login?returnTo=`), `Confluence asks who you are first: ${page.url()}`);
    await page.locator(`button[data-account-id="${DEFAULT_ACCOUNTS.carol}"]`).click();
    const frame = await appFrame(page);
    assert.match(await frame.locator('.ob-card').innerText(), /Carol Jones[\s\S]*crm-carol-2/);
    await frame.getByRole('button', { name: 'Allow' }).click();
    await frame.getByRole('status').filter({ hasText: 'Your account is connected' }).waitFor();
    const [link] = await linksOf('crm-carol-2');
    assert.deepEqual([link?.status, link?.accountId], ['linked', DEFAULT_ACCOUNTS.carol]);
    await fresh();
  });

  test('already linked: a second app user claiming Bob is refused inside the frame with a next step, and nothing changes', async () => {
    const session = await start({ externalUserId: 'crm-mallory', route: 'connect', site: 'acme' });
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.bob);
    await page.goto(session.url);
    const frame = await appFrame(page);
    // Bob's existing link is listed before he decides.
    assert.match(await frame.locator('#ob-links').innerText(), /crm-bob\s+Connected/);
    await frame.getByRole('button', { name: 'Allow' }).click();
    const alert = frame.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /Already linked to someone else[\s\S]*What to do next:/);
    await screenshot(page, 'connect', '07-error-already-linked');
    assert.deepEqual(await linksOf('crm-mallory'), []);
    assert.equal((await linksOf('crm-bob'))[0]?.status, 'linked');
    await fresh();
  });

  test('error pages: unknown, used, expired and other-site links each say what happened and what to do next', async () => {
    const page = await newPage();
    const unknown = await page.goto(`${w.gatewayUrl}/link/obl_not-a-real-link`);
    assert.equal(unknown?.status(), 400);
    assert.match(await page.getByRole('alert').innerText(), /This link is not valid[\s\S]*What to do next:/);
    await screenshot(page, 'connect', '08-error-unknown-link');

    const daveSession = await start({ externalUserId: 'crm-used', route: 'connect', site: 'acme', requireConfirmation: false });
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.dave);
    await page.goto(daveSession.url);
    const frame = await appFrame(page);
    await frame.getByRole('button', { name: 'Allow' }).click();
    await frame.getByRole('status').filter({ hasText: 'Your account is connected' }).waitFor();
    await screenshot(page, 'connect', '09-allowed-linked');
    const again = await page.goto(daveSession.url);
    assert.equal(again?.status(), 400);
    assert.match(await page.getByRole('alert').innerText(), /This link was already used/);
    await screenshot(page, 'connect', '10-error-used-link');

    const short = await start({ externalUserId: 'crm-late', route: 'connect', site: 'acme', ttlSeconds: 60 });
    w.setGatewayClockOffset(2 * 60_000);
    try {
      const expired = await page.goto(short.url);
      assert.equal(expired?.status(), 410);
      assert.match(await page.getByRole('alert').innerText(), /This link has expired[\s\S]*What to do next:/);
      await screenshot(page, 'connect', '11-error-expired-link');
      await page.setViewportSize({ width: 375, height: 800 });
      await assertLayout(page, 'expired page at 375px');
      await screenshot(page, 'connect', '12-error-expired-link-375px');
      await page.setViewportSize({ width: 1280, height: 800 });
      // The same inside Confluence, when the page is opened with the expired session.
      await page.goto(linkPageUrl(new URL(short.url).pathname.split('/').pop()));
      const inFrame = await appFrame(page);
      assert.match(await inFrame.getByRole('alert').innerText(), /This link has expired/);
      await screenshot(page, 'connect', '13-error-expired-in-confluence');
    } finally {
      w.setGatewayClockOffset(0);
    }

    const forGlobex = await start({ externalUserId: 'crm-elsewhere', route: 'connect', site: 'globex' });
    await page.goto(linkPageUrl(new URL(forGlobex.url).pathname.split('/').pop()));
    const other = await appFrame(page);
    assert.match(await other.getByRole('alert').innerText(), /This link is for another site[\s\S]*What to do next:/);
    await screenshot(page, 'connect', '14-error-other-site');
    await fresh();
  });

  test('a link for no particular site asks which site, then consents there', async () => {
    const session = await start({ externalUserId: 'crm-alice', route: 'connect', requireConfirmation: false });
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.alice);
    await page.goto(session.url);
    await page.getByRole('heading', { name: 'Which Confluence site do you want to connect to onbehalf?' }).waitFor();
    await screenshot(page, 'connect', '15-site-chooser');
    await page.setViewportSize({ width: 375, height: 800 });
    await assertLayout(page, 'site chooser at 375px');
    await screenshot(page, 'connect', '16-site-chooser-375px');
    await page.getByRole('link', { name: /\/s\/acme$/ }).click();
    const frame = await appFrame(page);
    await frame.getByRole('button', { name: 'Allow' }).click();
    await frame.getByRole('status').filter({ hasText: 'Your account is connected' }).waitFor();
    assert.equal((await linksOf('crm-alice'))[0]?.status, 'linked');
    await fresh();
  });

  test('Connected apps: Bob disconnects inside Confluence, and the next proxy call as him is refused', async () => {
    const page = await newPage();
    await signIn(page, w.sandboxUrl, DEFAULT_ACCOUNTS.bob);
    await page.goto(linkPageUrl());
    const frame = await appFrame(page);
    await frame.getByRole('heading', { name: 'onbehalf and your Atlassian account' }).waitFor();
    await screenshot(page, 'connect', '17-connected-apps');
    await page.setViewportSize({ width: 375, height: 800 });
    await assertLayout(gatewayFrame(page, w.gatewayUrl), 'connected apps at 375px');
    await screenshot(page, 'connect', '18-connected-apps-375px');
    await page.setViewportSize({ width: 1280, height: 800 });

    await frame.getByRole('button', { name: 'Disconnect crm-bob' }).click();
    await frame.getByRole('status').filter({ hasText: 'Disconnected' }).waitFor();
    assert.equal(await frame.locator('#ob-no-links').isVisible(), true);
    await screenshot(page, 'connect', '19-disconnected');
    assert.equal((await linksOf('crm-bob'))[0]?.status, 'revoked');
    const refused = await createPage('crm-bob', 'Must not be written');
    const body = (await refused.json()) as { error?: { code?: string } };
    assert.equal(refused.status, 404, JSON.stringify(body));
    assert.equal(body.error?.code, 'USER_NOT_LINKED');
    await fresh();
  });
});

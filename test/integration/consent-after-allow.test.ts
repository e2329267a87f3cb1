import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_ACCOUNTS } from '../../src/sandbox/index.js';
import { GATEWAY_ORIGIN, SANDBOX_ORIGIN, createConnectWorld, type ConnectWorld } from '../support/connect-world.js';
import { createUserAgent, parseHostPage, type UserAgent } from '../support/user-agent.js';

/** The consent page after the click: what a reload shows, and the name it learned for the admin console. */
describe('the consent page after Allow', () => {
  let w: ConnectWorld;
  let cloudId: string;
  before(async () => {
    w = await createConnectWorld();
    await w.install('acme');
    cloudId = w.sandbox.control.discovery().sites.find((s) => s.key === 'acme')?.cloudId ?? '';
  }, { timeout: 120_000 });
  after(async () => {
    await w.close();
  }, { timeout: 120_000 });

  /** The consent frame's HTML for whoever `ua` is signed in as, loaded from the Confluence page URL. */
  async function frameHtml(ua: UserAgent, sitePage: string): Promise<string> {
    const host = await ua.fetch(sitePage);
    assert.equal(host.status, 200);
    const { iframeSrc } = parseHostPage(await host.text());
    return (await ua.fetch(iframeSrc)).text();
  }

  test('reloading after Allow shows the connected state to the person who allowed; anyone else sees "already used"', { timeout: 180_000 }, async () => {
    const started = await w.gateway.linking.sessions.start({ externalUserId: 'crm-dave', route: 'connect', cloudId, requireConfirmation: false });
    const dave = createUserAgent(w.fetch);
    await dave.signIn(SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.dave);
    const sitePage = (await dave.fetch(started.url)).headers.get('location') ?? '';
    const first = await frameHtml(dave, sitePage);
    assert.match(first, /Allow onbehalf to act as you/);
    const host = await dave.fetch(sitePage);
    const { contextTokenUrl } = parseHostPage(await host.text());
    const ctx = (await (await dave.fetch(contextTokenUrl, { method: 'POST' })).json()) as { token: string };
    const session = /data-session="([^"]*)"/.exec(first)?.[1] ?? '';
    const decided = await dave.fetch(`${GATEWAY_ORIGIN}/connect/link/decide`, { method: 'POST', headers: { Authorization: `JWT ${ctx.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ session, decision: 'allow' }) });
    assert.equal(decided.status, 200);

    const reloaded = await frameHtml(dave, sitePage);
    assert.match(reloaded, /id="ob-done"/);
    assert.match(reloaded, /Your account is connected/);
    assert.doesNotMatch(reloaded, /already used/);
    assert.doesNotMatch(reloaded, /role="alert"/);

    const carol = createUserAgent(w.fetch);
    await carol.signIn(SANDBOX_ORIGIN, DEFAULT_ACCOUNTS.carol);
    const other = await frameHtml(carol, sitePage);
    assert.match(other, /This link was already used/);
    assert.doesNotMatch(other, /crm-dave/, 'nothing about the link is shown to someone else');
  });

  test('the name the consent page learned is kept, so the console shows it instead of "unknown name"', { timeout: 180_000 }, async () => {
    const known = await w.gateway.repos.knownAccounts.get(cloudId, DEFAULT_ACCOUNTS.dave);
    assert.equal(known?.displayName, 'Dave Private');
  });
});

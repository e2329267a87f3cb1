import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createApiWorld, GATEWAY_ORIGIN } from '../../../test/api/support/api-world.js';
import { createConsoleAgent } from '../../../test/support/console-agent.js';
import { exampleForgeManifest, EXAMPLE_APP_ID } from '../../sandbox/forge/example-manifest.js';
import { DEFAULT_ACCOUNTS } from '../../sandbox/index.js';

const SECRET = 'forge-console-secret-forge-console-secret';
const textOf = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/\s+/g, ' ');
/** The text of the first row's cell under a column (the table labels each cell for phone width). */
const cell = (html: string, label: string) => textOf(new RegExp(`<td data-label="${label}">([\\s\\S]*?)</td>`).exec(html)?.[1] ?? '').trim();
const utc = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

describe('admin console: the Forge page', { timeout: 120_000 }, () => {
  test('installations with their token health, last invocation and trigger, links per installation; expiry and refusal say what to do', async (t) => {
    const w = await createApiWorld({ ONBEHALF_FORGE_APP_ID: EXAMPLE_APP_ID, ONBEHALF_ADMIN_SECRET: SECRET });
    t.after(() => w.close());
    const a = createConsoleAgent((url, init) => w.gateway.app.request(url, init), GATEWAY_ORIGIN);
    await a.signIn(SECRET);
    const empty = await a.get('/admin/forge');
    assert.equal(empty.status, 200);
    assert.match(textOf(empty.html), /No Forge installation has invoked the gateway yet/);
    assert.match(empty.html, /aria-current="page"[^>]*>Forge</);

    const installed = await w.sandbox.forge.install('acme', { manifest: exampleForgeManifest({ baseUrl: GATEWAY_ORIGIN }) });
    assert.ok(installed.ok);
    await w.settle();
    const repos = w.gateway.repos;
    const tenant = (await repos.tenants.find('forge', EXAMPLE_APP_ID, installed.value.installationId))!;
    for (const [user, accountId, status] of [['u-a', DEFAULT_ACCOUNTS.alice, 'linked'], ['u-b', DEFAULT_ACCOUNTS.bob, 'linked'], ['u-c', DEFAULT_ACCOUNTS.carol, 'revoked']] as const) {
      await repos.links.create({ externalUserId: user, cloudId: w.cloudId, accountId, route: 'forge', scopes: [], status, evidence: {}, tenantId: tenant.id });
    }
    const installedAt = utc(w.sandbox.clock.now());
    const stored = await repos.tokens.get({ route: 'forge', appKey: EXAMPLE_APP_ID, tenantKey: tenant.tenantKey, accountId: '', kind: 'access', scopeKey: 'app-system' });

    const page = await a.get('/admin/forge');
    const text = textOf(page.html);
    assert.match(text, new RegExp(`acme ${w.cloudId}`));
    assert.ok(cell(page.html, 'Installation').startsWith(installed.value.installationId.replace('ari:cloud:ecosystem::installation/', '')), text);
    assert.equal(cell(page.html, 'Token health'), 'valid');
    assert.equal(cell(page.html, 'System token'), `stored ${installedAt} expires ${utc(stored!.expiresAt!)}`);
    assert.equal(cell(page.html, 'Invocations'), `last ${installedAt} core:endpoint:gateway-lifecycle trigger ${installedAt}`, 'the installed trigger counts as a trigger');
    assert.equal(cell(page.html, 'Links'), '2 linked 1 revoked');
    assert.match(page.html, new RegExp(`href="/admin/links\\?route=forge&amp;site=${w.cloudId}&amp;status=linked"`));

    // Five hours later with no invocation: the token has expired, and the page says what to do.
    w.sandbox.control.advanceClock(5 * 3_600_000);
    await a.signIn(SECRET); // the console session itself timed out meanwhile
    const expired = (await a.get('/admin/forge')).html;
    assert.match(cell(expired, 'Token health'), /^expired The app system token has expired .* Wait for the hourly scheduled trigger; if none arrives, check that the app is still installed on the site and reinstall it\.$/);

    // The hourly trigger: the token is fresh again and the last trigger moves to now.
    const tick = await w.sandbox.forge.runScheduledTrigger(installed.value, 'token-keepalive');
    assert.ok(tick.ok);
    await w.settle();
    const fresh = (await a.get('/admin/forge')).html;
    assert.equal(cell(fresh, 'Token health'), 'valid');
    const now = utc(w.sandbox.clock.now());
    assert.match(cell(fresh, 'Invocations'), new RegExp(`^last ${now} core:endpoint:\\S+ trigger ${now}$`));
    assert.match(cell(fresh, 'System token'), new RegExp(`^stored ${now} expires `));

    // Forge refuses the token (uninstalled): the installation is marked and the page says so.
    await repos.tenants.setStatus(tenant.id, 'disabled');
    const refused = (await a.get('/admin/forge')).html;
    assert.match(cell(refused, 'Token health'), /^rejected disabled Forge refused the stored app system token/);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { startForgeWorld } from '../testing/forge-test-kit.js';
import { exampleForgeManifest, EXAMPLE_APP_ID } from './example-manifest.js';
import { DEFAULT_ACCOUNTS } from '../seed/default-seed.js';

const HOUR = 3600_000;
const lifecycle = (path: string) => path === '/forge/lifecycle';

describe('Forge installs over real HTTP: install, FIT, lifecycle, upgrade, uninstall, reinstall', { timeout: 180_000 }, () => {
  test('install delivers avi:forge:installed:app before answering, with a FIT that verifies against the JWKS', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const info = await w.install();
    const discovery = w.sb.sandbox.control.discovery();
    const acme = discovery.sites.find((s) => s.key === 'acme')!;
    assert.equal(info.appId, EXAMPLE_APP_ID);
    assert.match(info.installationId, /^ari:cloud:ecosystem::installation\/[0-9a-f-]{36}$/);
    assert.match(info.environmentId, /^ari:cloud:ecosystem::environment\/0c6e4a52-5c8a-4f53-9b1e-3a7d2f6b8e10\/[0-9a-f-]{36}$/);
    assert.equal(info.cloudId, acme.cloudId);
    assert.equal(info.apiBaseUrl, `${discovery.endpoints.forgeApi}/${acme.cloudId}`);
    assert.equal(discovery.endpoints.graphql, `${w.sb.url}/graphql`);

    // Already there when the control call answered: no waiting.
    const got = w.remote.received.filter((r) => lifecycle(r.path));
    assert.equal(got.length, 1);
    const req = got[0]!;
    assert.equal(req.method, 'POST');
    const body = req.body as { payload: Record<string, unknown> };
    assert.equal(body.payload['eventType'], 'avi:forge:installed:app');
    assert.equal(body.payload['id'], info.installationId.split('/').pop());
    assert.equal(body.payload['installerAccountId'], DEFAULT_ACCOUNTS.alice);
    assert.deepEqual((body.payload['app'] as { id: string; version: string }).id, EXAMPLE_APP_ID.split('/').pop());
    assert.equal(body.payload['retryContext'], undefined);

    const fit = await w.verifyFit(req.headers['authorization'], EXAMPLE_APP_ID);
    const app = fit['app'] as Record<string, unknown>;
    assert.equal(app['installationId'], info.installationId);
    assert.equal(app['apiBaseUrl'], info.apiBaseUrl);
    assert.deepEqual(app['installation'], { id: info.installationId, contexts: [{ name: 'confluence', apiBaseUrl: info.apiBaseUrl, cloudId: acme.cloudId }] });
    assert.deepEqual(app['environment'], { type: 'DEVELOPMENT', id: info.environmentId });
    assert.deepEqual(app['module'], { type: 'core:endpoint', key: 'gateway-lifecycle' });
    assert.equal(app['appVersion'], '1.0.0');
    assert.equal(fit.exp! - fit.iat!, 25);
    assert.equal(fit.nbf, fit.iat);
    assert.match(String(fit.jti), /^[0-9a-f]{40}$/);
    assert.equal(fit['principal'], undefined, 'no principal outside UI calls');
    assert.equal(fit['context'], undefined, 'no context outside UI calls');
    assert.equal(decodeProtectedHeader(req.headers['authorization']!.slice(7)).alg, 'RS256');

    // Trace headers and the system token; never a user token on a trigger.
    assert.match(req.headers['x-b3-traceid'] ?? '', /^[0-9a-f]{32}$/);
    assert.match(req.headers['x-b3-spanid'] ?? '', /^[0-9a-f]{16}$/);
    assert.equal(req.headers['x-forge-oauth-user'], undefined);
    const system = req.headers['x-forge-oauth-system']!;
    const exp = decodeJwt(system).exp! * 1000;
    const left = exp - w.sb.sandbox.clock.now();
    assert.ok(left >= 2 * HOUR && left <= 4 * HOUR, `system token has ${left} ms left`);
    // The system token reads the site as the app's own user through apiBaseUrl, and not through the site URL.
    const me = await fetch(`${info.apiBaseUrl}/wiki/rest/api/user/current`, { headers: { authorization: `Bearer ${system}` } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { accountId: string }).accountId, info.appUserAccountId);
    assert.equal((await fetch(`${acme.baseUrl}/rest/api/user/current`, { headers: { authorization: `Bearer ${system}` } })).status, 401);
  });

  test('a tampered FIT, an expired one, or one signed by another key fails verification', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    await w.install();
    const auth = w.remote.received.find((r) => lifecycle(r.path))!.headers['authorization']!;
    const [h, p, s] = auth.slice(7).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, principal: DEFAULT_ACCOUNTS.alice })).toString('base64url');
    await assert.rejects(w.verifyFit(`Bearer ${h}.${forged}.${s}`, EXAMPLE_APP_ID), /signature verification failed/);
    await assert.rejects(w.verifyFit(auth, EXAMPLE_APP_ID, new Date(w.sb.sandbox.clock.now() + 60_000)), /"exp" claim timestamp check failed/);
    await assert.rejects(w.verifyFit(auth, 'ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000'), /unexpected "aud" claim value/);
    const { generateKeyPair } = await import('jose');
    const other = await generateKeyPair('RS256');
    const kid = decodeProtectedHeader(auth.slice(7)).kid!;
    const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(other.privateKey);
    await assert.rejects(w.verifyFit(`Bearer ${foreign}`, EXAMPLE_APP_ID), /signature verification failed/);
    assert.ok(await w.verifyFit(auth, EXAMPLE_APP_ID));
  });

  test('key rotation: both keys in the JWKS until the old one is retired', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const info = await w.install();
    const kids = async () => ((await (await fetch(w.sb.sandbox.control.discovery().endpoints.forgeJwks)).json()) as { keys: { kid: string; alg: string; kty: string }[] }).keys.map((k) => k.kid);
    const oldKid = decodeProtectedHeader(w.remote.received[0]!.headers['authorization']!.slice(7)).kid!;
    assert.deepEqual(await kids(), [oldKid]);
    const rotated = (await (await w.post('/_sandbox/forge/keys/rotate')).json()) as { kid: string; published: string[] };
    assert.deepEqual(rotated.published, [oldKid, rotated.kid]);
    assert.deepEqual(await kids(), [oldKid, rotated.kid]);
    await w.post(`/_sandbox/sites/acme/forge-apps/${encodeURIComponent(info.appId)}/scheduled-triggers/token-keepalive/run`);
    const tick = w.remote.received.find((r) => r.path === '/forge/tick')!;
    assert.equal(decodeProtectedHeader(tick.headers['authorization']!.slice(7)).kid, rotated.kid);
    assert.ok(await w.verifyFit(tick.headers['authorization'], EXAMPLE_APP_ID));
    await w.post('/_sandbox/forge/keys/retire');
    assert.deepEqual(await kids(), [rotated.kid]);
  });

  test('an invalid manifest is refused with the validators\' messages and installs nothing', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const broken = exampleForgeManifest({ baseUrl: w.remote.url }).replace('      route:\n        path: /forge/events\n', '');
    const res = await w.post('/_sandbox/sites/acme/forge-apps', { manifest: broken });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string; details: { errors: string[] } } };
    assert.equal(body.error.code, 'MANIFEST_INVALID');
    assert.ok(body.error.details.errors.some((e) => /gateway-events/.test(e)), body.error.details.errors.join('\n'));
    assert.equal(w.remote.received.length, 0);
    assert.deepEqual(await (await fetch(`${w.sb.url}/_sandbox/forge/installations`)).json(), []);
    const noRemote = await w.post('/_sandbox/sites/acme/forge-apps', { manifest: exampleForgeManifest(), remotes: { other: w.remote.url } });
    assert.equal(noRemote.status, 400);
    assert.match(((await noRemote.json()) as { error: { message: string } }).error.message, /"other", which the manifest does not declare/);
    const noSite = await w.post('/_sandbox/sites/nope/forge-apps', { manifest: exampleForgeManifest(), remotes: { gateway: w.remote.url } });
    assert.equal(noSite.status, 404);
  });

  test('upgrade: a minor version rolls out quietly; a major one waits for approval, then sends upgraded', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const info = await w.install();
    const base = `/_sandbox/sites/acme/forge-apps/${encodeURIComponent(info.appId)}`;
    const minor = (await (await w.post(`${base}/upgrade`, { manifest: exampleForgeManifest().replace('title: Connect your account\n', 'title: Link your account\n'), remotes: { gateway: w.remote.url } })).json()) as { pendingApproval: boolean; version: string };
    assert.deepEqual([minor.pendingApproval, minor.version], [false, '1.1.0']);
    const scopes = { 'read:app-system-token': false, 'read:app-user-token': false, 'read:page:confluence': true };
    const major = (await (await w.post(`${base}/upgrade`, { manifest: exampleForgeManifest({ scopes }), remotes: { gateway: w.remote.url } })).json()) as { pendingApproval: boolean; version: string; installation: { version: string } };
    assert.deepEqual([major.pendingApproval, major.version, major.installation.version], [true, '2.0.0', '1.1.0']);
    assert.equal(w.remote.received.filter((r) => lifecycle(r.path)).length, 1, 'no event before approval');
    const approved = await w.post(`${base}/approve-upgrade`, {});
    assert.equal(approved.status, 200);
    const ev = w.remote.received.filter((r) => lifecycle(r.path))[1]!;
    const payload = (ev.body as { payload: Record<string, unknown> }).payload;
    assert.equal(payload['eventType'], 'avi:forge:upgraded:app');
    assert.equal(payload['upgraderAccountId'], DEFAULT_ACCOUNTS.alice);
    assert.deepEqual(payload['permissions'], { scopes: Object.keys(scopes) });
    const fit = await w.verifyFit(ev.headers['authorization'], EXAMPLE_APP_ID);
    assert.equal((fit['app'] as { appVersion: string }).appVersion, '2.0.0');
    assert.equal((fit['app'] as { installationId: string }).installationId, info.installationId, 'installationId is stable across upgrades');
    assert.equal((await w.post(`${base}/approve-upgrade`, {})).status, 409);
  });

  test('uninstall sends nothing and ends tokens and schedules; reinstall gets a new installationId on the same cloudId', async (t) => {
    const w = await startForgeWorld();
    t.after(() => w.close());
    const info = await w.install();
    const base = `/_sandbox/sites/acme/forge-apps/${encodeURIComponent(info.appId)}`;
    const system = w.remote.received[0]!.headers['x-forge-oauth-system']!;
    const before = w.remote.received.length;
    assert.equal((await fetch(`${w.sb.url}${base}`, { method: 'DELETE' })).status, 200);
    assert.equal(w.remote.received.length, before, 'no uninstall event (FRGE-1246)');
    assert.equal((await fetch(`${info.apiBaseUrl}/wiki/rest/api/user/current`, { headers: { authorization: `Bearer ${system}` } })).status, 401);
    await w.post('/_sandbox/clock/advance', { ms: 2 * HOUR });
    await w.post('/_sandbox/forge/flush');
    assert.equal(w.remote.received.filter((r) => r.path === '/forge/tick').length, 0, 'no scheduled trigger after uninstall');
    const again = await w.post(`${base}/reinstall`);
    assert.equal(again.status, 201);
    const re = (await again.json()) as { installationId: string; cloudId: string; appUserAccountId: string };
    assert.notEqual(re.installationId, info.installationId);
    assert.equal(re.cloudId, info.cloudId);
    assert.equal(re.appUserAccountId, info.appUserAccountId);
    const installed = w.remote.received.filter((r) => lifecycle(r.path)).at(-1)!;
    const fit = await w.verifyFit(installed.headers['authorization'], EXAMPLE_APP_ID);
    assert.equal((fit['app'] as { installationId: string }).installationId, re.installationId);
    assert.equal((await w.post('/_sandbox/sites/acme/forge-apps', { manifest: exampleForgeManifest(), remotes: { gateway: w.remote.url } })).status, 409, 'already installed');
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, createSign, KeyObject, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createManualClock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { createForgeTokenVerifier, FORGE_JWKS_URL } from './verify-forge-invocation-token.js';

const APP = 'ari:cloud:ecosystem::app/8db33809-1f32-48bb-8c52-5877dab48107';
const CLOUD = 'd0d52620-3203-4cfa-8db5-f2587155f0dd';
const API = `https://api.atlassian.com/ex/confluence/${CLOUD}`;
const INSTALLATION = 'ari:cloud:ecosystem::installation/0a3a7799-53ae-4a5b-9e7e-03338980abb5';
const NOW = 1_700_175_149;

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
type Key = { kid: string; privateKey: PrivateKey; jwk: JWK };
const makeKey = async (): Promise<Key> => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
};

/** The documented UI example (§10.4) with our ids. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    app: {
      id: APP,
      version: '16',
      appVersion: '16.0.1',
      installationId: INSTALLATION,
      apiBaseUrl: API,
      installation: { id: INSTALLATION, contexts: [{ name: 'confluence', apiBaseUrl: API, cloudId: CLOUD }] },
      environment: { type: 'PRODUCTION', id: 'ari:cloud:ecosystem::environment/8db33809-1f32-48bb-8c52-5877dab48107/aa911f10-c54b-4b93-9e27-dd2947840b9e' },
      module: { type: 'xen:macro', key: 'forge-remote-app-boot' },
    },
    context: { localId: '4654fa12', cloudId: CLOUD, moduleKey: 'forge-remote-app-boot', siteUrl: 'https://example.atlassian.net', extension: { type: 'macro' } },
    principal: '655362:312d3308-8954-42b0-aa38-771a10c88656',
    aud: APP,
    iss: 'forge/invocation-token',
    iat: NOW,
    nbf: NOW,
    exp: NOW + 25,
    jti: 'd8a496253ec8c18a54631e4c82cbedd5d0ae8570',
    ...overrides,
  };
}
const sign = (key: Key, c = claims(), kid = key.kid) => new SignJWT(c).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key.privateKey);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** A correctly RS256-signed compact token with any header and any payload segment, for headers jose will not sign. */
const signRaw = (key: Key, header: Record<string, unknown>, payloadSegment = b64(claims())) => {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header })}.${payloadSegment}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(KeyObject.from(key.privateKey as Parameters<typeof KeyObject.from>[0]), 'base64url')}`;
};

async function world() {
  const key = await makeKey();
  const published: Key[] = [key];
  const fetched: string[] = [];
  let down = false;
  const fetch = async (url: string) => {
    fetched.push(url);
    if (down) throw new TypeError('fetch failed');
    return new Response(JSON.stringify({ keys: published.map((k) => k.jwk) }), { headers: { 'content-type': 'application/json' } });
  };
  const clock = createManualClock(NOW * 1000);
  const make = (refetchCooldownMs?: number) => createForgeTokenVerifier({ appId: APP, fetch, clock, isolatedCloudJwksUrlTemplate: 'https://forge.cdn.ic.example/{icLabel}/jwks.json', refetchCooldownMs });
  return { key, published, fetched, clock, verifier: make(), make, setDown: (v: boolean) => void (down = v) };
}

const refused = async (p: Promise<unknown>, reason: string | RegExp) => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof GatewayError, String(e));
    assert.equal(e.code, 'FORGE_TOKEN_INVALID');
    // The message is what an integrator reads in the 401: it names the token and says what is wrong with it.
    assert.match(e.message, /Forge Invocation Token/);
    if (typeof reason === 'string') assert.equal(e.details?.['reason'], reason);
    else assert.match(String(e.details?.['reason']), reason);
    return true;
  });
};

describe('verifyForgeInvocationToken', () => {
  test('the documented example verifies into the invocation, UI context and principal included', async () => {
    const w = await world();
    const inv = await w.verifier.verify(`Bearer ${await sign(w.key)}`);
    assert.deepEqual(inv, {
      appId: APP,
      appVersion: '16.0.1',
      installationId: INSTALLATION,
      apiBaseUrl: API,
      cloudId: CLOUD,
      environment: { type: 'PRODUCTION', id: 'ari:cloud:ecosystem::environment/8db33809-1f32-48bb-8c52-5877dab48107/aa911f10-c54b-4b93-9e27-dd2947840b9e' },
      module: { type: 'xen:macro', key: 'forge-remote-app-boot' },
      principal: '655362:312d3308-8954-42b0-aa38-771a10c88656',
      context: { cloudId: CLOUD, siteUrl: 'https://example.atlassian.net', moduleKey: 'forge-remote-app-boot', localId: '4654fa12', extension: { type: 'macro' } },
      jti: 'd8a496253ec8c18a54631e4c82cbedd5d0ae8570',
      expiresAt: (NOW + 25) * 1000,
    });
    assert.deepEqual(w.fetched, [FORGE_JWKS_URL], "Atlassian's production JWKS by default");
    // A trigger's FIT has neither principal nor context; the cloudId then comes from apiBaseUrl if need be.
    const { context: _c, principal: _p, ...trigger } = claims();
    const app = { ...(trigger['app'] as Record<string, unknown>), installation: { id: INSTALLATION, contexts: [] } };
    const t = await w.verifier.verify(`Bearer ${await sign(w.key, { ...trigger, app })}`);
    assert.deepEqual([t.principal, t.context, t.cloudId], [null, null, CLOUD]);
  });

  test('the forged matrix: other key, wrong aud, wrong iss, expired, not yet valid, alg none, HS256 with the public key, bad icLabel', async () => {
    const w = await world();
    const other = await makeKey();
    await refused(w.verifier.verify(`Bearer ${await sign(other, claims(), w.key.kid)}`), 'signature');
    await refused(w.verifier.verify(`Bearer ${await sign(other)}`), 'unknown_key');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ aud: 'ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000' }))}`), 'claim_aud');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ iss: 'someone-else' }))}`), 'claim_iss');
    w.clock.set((NOW + 25 + 5) * 1000);
    await refused(w.verifier.verify(`Bearer ${await sign(w.key)}`), 'expired');
    w.clock.set((NOW + 29) * 1000);
    await w.verifier.verify(`Bearer ${await sign(w.key)}`); // inside the 5 s leeway
    w.clock.set((NOW - 60) * 1000);
    await refused(w.verifier.verify(`Bearer ${await sign(w.key)}`), 'claim_nbf');
    w.clock.set(NOW * 1000);
    await refused(w.verifier.verify(`Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`), 'algorithm');
    const pem = JSON.stringify(w.key.jwk);
    const hsInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: w.key.kid })}.${b64(claims())}`;
    await refused(w.verifier.verify(`Bearer ${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`), 'algorithm');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ icLabel: '../../evil.example/x' }))}`), 'ic_label');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ icLabel: 'A'.repeat(51) }))}`), 'ic_label');
    const payload = claims();
    const [h, , s] = (await sign(w.key)).split('.');
    await refused(w.verifier.verify(`Bearer ${h}.${b64({ ...payload, principal: 'someone-else' })}.${s}`), 'signature');
    await refused(w.verifier.verify(undefined), 'missing');
    await refused(w.verifier.verify('Basic abc'), 'missing');
    await refused(w.verifier.verify('Bearer not.a.jwt'), 'malformed');
    // The header is the token and nothing else: nothing before "Bearer", nothing after the token.
    const good = await sign(w.key);
    await refused(w.verifier.verify(`Basic x Bearer ${good}`), 'missing');
    await refused(w.verifier.verify(`Bearer ${good} trailing`), 'missing');
    // No bad label ever reached a URL.
    assert.ok(w.fetched.every((u) => u === FORGE_JWKS_URL || u === 'https://forge.cdn.ic.example/{icLabel}/jwks.json'.replace('{icLabel}', 'x')));
  });

  test('a valid icLabel picks the Isolated Cloud key set from the template; without a template it is refused', async () => {
    const w = await world();
    await w.verifier.verify(`Bearer ${await sign(w.key, claims({ icLabel: 'eu-ic_1' }))}`);
    assert.ok(w.fetched.includes('https://forge.cdn.ic.example/eu-ic_1/jwks.json'));
    const noTemplate = createForgeTokenVerifier({ appId: APP, fetch: async () => new Response(JSON.stringify({ keys: [w.key.jwk] })), clock: w.clock });
    await refused(noTemplate.verify(`Bearer ${await sign(w.key, claims({ icLabel: 'eu-ic_1' }))}`), 'ic_label');
  });

  test('claims the gateway needs must be there: app, installationId, apiBaseUrl, jti, the app itself', async () => {
    const w = await world();
    const app = claims()['app'] as Record<string, unknown>;
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: undefined }))}`), 'claims');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: { ...app, installationId: 'x', installation: {} } }))}`), 'claims');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: { ...app, apiBaseUrl: undefined } }))}`), 'claims');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: { ...app, id: 'ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000' } }))}`), 'claim_app');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ jti: undefined }))}`), 'claim_jti');
  });

  test('a rotated key is fetched on its first unknown kid (after the cooldown); an unreachable key set is ATLASSIAN_UNAVAILABLE', async () => {
    const w = await world();
    await w.verifier.verify(`Bearer ${await sign(w.key)}`);
    const next = await makeKey();
    w.published.push(next);
    // Within the default cooldown a made-up kid costs no fetch...
    await refused(w.verifier.verify(`Bearer ${await sign(next)}`), 'unknown_key');
    assert.equal(w.fetched.length, 1);
    // ...and once it has passed (0 here), the new kid is fetched and accepted.
    const eager = w.make(0);
    await eager.verify(`Bearer ${await sign(w.key)}`);
    w.published.push(await makeKey());
    await eager.verify(`Bearer ${await sign(w.published.at(-1)!)}`);
    assert.equal(w.fetched.length, 3, 'fetched again for the new kid');
    const third = await makeKey();
    w.setDown(true);
    await assert.rejects(eager.verify(`Bearer ${await sign(third)}`), (e: unknown) => {
      assert.ok(e instanceof GatewayError);
      assert.deepEqual([e.code, e.details], ['ATLASSIAN_UNAVAILABLE', { reason: 'jwks_unavailable', retryable: true }]);
      assert.match(e.message, /Forge key set could not be fetched/);
      return true;
    });
  });

  test('a cooldown set in milliseconds is that long, not the default 30 s: a new kid is fetched once it has passed', { timeout: 30_000 }, async () => {
    const w = await world();
    const quick = w.make(1);
    await quick.verify(`Bearer ${await sign(w.key)}`);
    const fetchedAt = Date.now();
    const next = await makeKey();
    w.published.push(next);
    // jose times the cooldown with Date.now(), not the injected clock: let 2 ms go by (a longer wait changes nothing).
    while (Date.now() < fetchedAt + 2) await new Promise((r) => setTimeout(r, 1));
    const invocation = await quick.verify(`Bearer ${await sign(next)}`);
    assert.equal(invocation.appId, APP);
    assert.equal(w.fetched.length, 2, 'fetched again for the new kid');
  });

  test('what a FIT may leave out or write another way: version, installation id, trailing slash, environment, module', async () => {
    const w = await world();
    const app = claims()['app'] as Record<string, unknown>;
    const { appVersion: _v, installationId: _i, environment: _e, module: _m, ...bare } = app;
    // app.version is the deprecated name of appVersion; the installation id may be only under installation.id.
    const inv = await w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: { ...bare, apiBaseUrl: `${API}/` } }))}`);
    assert.deepEqual(
      { appVersion: inv.appVersion, installationId: inv.installationId, apiBaseUrl: inv.apiBaseUrl, environment: inv.environment, module: inv.module },
      { appVersion: '16', installationId: INSTALLATION, apiBaseUrl: API, environment: { type: 'UNKNOWN', id: '' }, module: { type: '', key: '' } },
    );
    // Empty strings are "absent", never a value: an empty appVersion falls back, an empty principal is no user.
    const empty = await w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: { ...app, appVersion: '' }, principal: '', context: { cloudId: '', extension: 'macro' } }))}`);
    assert.deepEqual([empty.appVersion, empty.principal, empty.context], ['16', null, { cloudId: null, siteUrl: null, moduleKey: null, localId: null, extension: null }]);
    // app.installationId is the one used when both are there; an installation without contexts is fine.
    const OTHER_INSTALLATION = 'ari:cloud:ecosystem::installation/11111111-2222-4333-8444-555555555555';
    const both = await w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: { ...app, installation: { id: OTHER_INSTALLATION } } }))}`);
    assert.deepEqual([both.installationId, both.cloudId], [INSTALLATION, CLOUD]);
    // Several trailing slashes go too.
    assert.equal((await w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: { ...app, apiBaseUrl: `${API}//` } }))}`)).apiBaseUrl, API);
    // A context that is not an object is no context.
    const arrayContext = await w.verifier.verify(`Bearer ${await sign(w.key, claims({ context: [CLOUD] }))}`);
    assert.equal(arrayContext.context, null);
  });

  test('the Confluence site comes from the confluence installation context, else only from a Confluence apiBaseUrl', async () => {
    const w = await world();
    const app = claims()['app'] as Record<string, unknown>;
    const OTHER = '11111111-2222-4333-8444-555555555555';
    const withContexts = (contexts: unknown[], apiBaseUrl = API) => claims({ app: { ...app, apiBaseUrl, installation: { id: INSTALLATION, contexts } } });
    // Another product's context first (and junk) does not decide the site.
    const inv = await w.verifier.verify(`Bearer ${await sign(w.key, withContexts([null, { name: 'jira', cloudId: OTHER }, { name: 'confluence', cloudId: CLOUD }], `https://api.atlassian.com/ex/confluence/${OTHER}`))}`);
    assert.equal(inv.cloudId, CLOUD);
    // Without one, the cloudId is read from apiBaseUrl (a trailing slash allowed)...
    const fromUrl = await w.verifier.verify(`Bearer ${await sign(w.key, withContexts([{ name: 'jira', cloudId: OTHER }], `${API}/`))}`);
    assert.equal(fromUrl.cloudId, CLOUD);
    // ...but only from a whole /ex/confluence/<cloudId> base URL: nothing before it in the path, nothing after it.
    for (const url of [`https://api.atlassian.com/ex/jira/${CLOUD}`, `${API}/wiki`, `https://api.atlassian.com/ex/confluence/x${CLOUD}`, `https://api.atlassian.com/ex/confluence/${CLOUD}0`]) {
      await refused(w.verifier.verify(`Bearer ${await sign(w.key, withContexts([], url))}`), 'claims');
    }
  });

  test('claims of the wrong kind are refused as claims, never a crash: null app, no installation id at all, a non-string icLabel', async () => {
    const w = await world();
    const app = claims()['app'] as Record<string, unknown>;
    const { installationId: _i, ...noId } = app;
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: null }))}`), 'claims');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: [app] }))}`), 'claims');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: { ...noId, installation: { contexts: [] } } }))}`), 'claims');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ app: { ...noId, installation: { id: 'ari:cloud:ecosystem::app/x' } } }))}`), 'claims');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ icLabel: 5 }))}`), 'ic_label');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ icLabel: 'a'.repeat(51) }))}`), 'ic_label');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ icLabel: '' }))}`), 'ic_label');
    assert.ok(w.fetched.every((u) => u === FORGE_JWKS_URL), 'no bad icLabel reached a key-set URL');
    // The longest label allowed still works.
    await w.verifier.verify(`Bearer ${await sign(w.key, claims({ icLabel: 'a'.repeat(50) }))}`);
    assert.equal(w.fetched.at(-1), `https://forge.cdn.ic.example/${'a'.repeat(50)}/jwks.json`);
  });

  test('every time claim is required: no exp, no iat, each refused by name', async () => {
    const w = await world();
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ exp: undefined }))}`), 'claim_exp');
    await refused(w.verifier.verify(`Bearer ${await sign(w.key, claims({ iat: undefined }))}`), 'claim_iat');
    // The leeway is 5 s, not more: 6 s past exp is expired.
    w.clock.set((NOW + 25 + 6) * 1000);
    await refused(w.verifier.verify(`Bearer ${await sign(w.key)}`), 'expired');
  });

  test('a token jose will not verify for its shape is FORGE_TOKEN_INVALID (malformed), never "Atlassian unavailable"', async () => {
    const w = await world();
    // A "crit" header that is not a list, and one naming an extension nobody understands.
    await refused(w.verifier.verify(`Bearer ${signRaw(w.key, { crit: 'b64' })}`), 'malformed');
    await refused(w.verifier.verify(`Bearer ${signRaw(w.key, { crit: ['x-unknown'], 'x-unknown': 1 })}`), 'malformed');
    // A JWS with an unencoded payload (b64: false) verifies as a JWS but is no JWT.
    await refused(w.verifier.verify(`Bearer ${signRaw(w.key, { b64: false, crit: ['b64'] })}`), 'malformed');
  });

  test('options are checked at creation', () => {
    const base = { fetch: async () => new Response('{}'), clock: createManualClock(0) };
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: 'my-app' }), /app id must be/);
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: APP, leewaySeconds: 60 }), /leewaySeconds/);
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: APP, isolatedCloudJwksUrlTemplate: 'https://x/jwks.json' }), /\{icLabel\}/);
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: APP, jwksUrl: 'file:///etc/passwd' }), /http\(s\)/);
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: APP, jwksUrl: 'not a url' }), (e: unknown) => e instanceof TypeError && /jwksUrl is not a URL/.test(e.message) && e.cause instanceof TypeError);
    // A bad Isolated Cloud template fails at creation, not at the first Isolated Cloud FIT.
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: APP, isolatedCloudJwksUrlTemplate: 'forge.cdn/{icLabel}/jwks.json' }), /isolatedCloudJwksUrlTemplate is not a URL/);
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: APP, isolatedCloudJwksUrlTemplate: 'ftp://forge.cdn/{icLabel}/jwks.json' }), /isolatedCloudJwksUrlTemplate must be an http\(s\) URL/);
    // The template is checked as it will be filled: a label that is the whole host is a valid URL.
    assert.ok(createForgeTokenVerifier({ ...base, appId: APP, isolatedCloudJwksUrlTemplate: 'https://{icLabel}' }));
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: APP, leewaySeconds: 60 }), /^RangeError: createForgeTokenVerifier: leewaySeconds/);
    // A bare UUID is the app ARI; anything around it (or around the ARI) is not an app id.
    for (const bad of ['x8db33809-1f32-48bb-8c52-5877dab48107', '8db33809-1f32-48bb-8c52-5877dab481070', `x${APP}`, `${APP}0`, 'ari:cloud:ecosystem::app/8DB33809-1f32-48bb-8c52-5877dab48107']) {
      assert.throws(() => createForgeTokenVerifier({ ...base, appId: bad }), /app id must be/, bad);
    }
    assert.ok(createForgeTokenVerifier({ ...base, appId: APP, jwksUrl: 'http://127.0.0.1:4100/jwks.json' }), 'a plain-http key set (the sandbox) is allowed');
  });

  test('a bare UUID app id is the app ARI: its FITs verify, and a custom jwksUrl is the one fetched', async () => {
    const w = await world();
    const fetched: string[] = [];
    const v = createForgeTokenVerifier({ appId: '8db33809-1f32-48bb-8c52-5877dab48107', jwksUrl: 'http://127.0.0.1:4100/forge/jwks.json', clock: w.clock, fetch: async (url) => (fetched.push(url), new Response(JSON.stringify({ keys: [w.key.jwk] }))) });
    assert.equal((await v.verify(`Bearer ${await sign(w.key)}`)).appId, APP);
    assert.deepEqual(fetched, ['http://127.0.0.1:4100/forge/jwks.json']);
  });
});

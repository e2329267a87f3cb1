import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
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
    await assert.rejects(eager.verify(`Bearer ${await sign(third)}`), (e: unknown) => e instanceof GatewayError && e.code === 'ATLASSIAN_UNAVAILABLE');
  });

  test('options are checked at creation', () => {
    const base = { fetch: async () => new Response('{}'), clock: createManualClock(0) };
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: 'my-app' }), /app id must be/);
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: APP, leewaySeconds: 60 }), /leewaySeconds/);
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: APP, isolatedCloudJwksUrlTemplate: 'https://x/jwks.json' }), /\{icLabel\}/);
    assert.throws(() => createForgeTokenVerifier({ ...base, appId: APP, jwksUrl: 'file:///etc/passwd' }), /http\(s\)/);
    assert.ok(createForgeTokenVerifier({ ...base, appId: '8db33809-1f32-48bb-8c52-5877dab48107' }));
  });
});

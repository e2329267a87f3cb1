import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { CompactSign, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createInstallKeyResolver as resolverFor, type InstallPublicKey } from './install-key-resolver.js';
import { createManualClock } from '../clock.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import { queryStringHash } from './canonical-request.js';
import { createInstallKeyResolver, type InstallKeyResolver } from './install-key-resolver.js';
import { verifyInstallToken, type VerifyInstallTokenOptions } from './verify-install-token.js';

const KID = 'd2466692-d9b3-4245-8208-a601568541ae';
const CLIENT_KEY = 'tenant-client-key';
const APP_BASE_URL = 'https://app.example.com/base';
const T0 = Date.UTC(2026, 0, 1, 12);
const KEY_SERVER = 'https://keys.test';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let pairA: KeyPair;
let pairB: KeyPair;
let pemA: string;
let pemB: string;

before(async () => {
  pairA = await generateKeyPair('RS256', { extractable: true });
  pairB = await generateKeyPair('RS256', { extractable: true });
  pemA = await exportSPKI(pairA.publicKey);
  pemB = await exportSPKI(pairB.publicKey);
});

/** A tiny key server: serves `keys[kid]`, records every URL asked for. */
function keyServer(keys: () => Record<string, string>, behaviour: { status?: number; fail?: boolean } = {}) {
  const calls: string[] = [];
  const fetch = async (url: string): Promise<Response> => {
    calls.push(url);
    if (behaviour.fail === true) throw new TypeError('fetch failed');
    if (behaviour.status !== undefined) return new Response('nope', { status: behaviour.status });
    const kid = url.slice(KEY_SERVER.length + 1);
    const pem = keys()[kid];
    return pem === undefined ? new Response('not found', { status: 404 }) : new Response(pem, { status: 200 });
  };
  return { fetch, calls };
}

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const iat = Math.floor(T0 / 1000);
  return {
    sub: 'installer-account',
    iss: CLIENT_KEY,
    aud: APP_BASE_URL,
    iat,
    exp: iat + 600,
    qsh: queryStringHash({ method: 'POST', pathname: '/installed' }),
    context: { user: { accountId: 'ctx-account' } },
    ...overrides,
  } as JWTPayload;
}

async function sign(payload: JWTPayload, opts: { kid?: string | undefined; pair?: KeyPair } = {}): Promise<string> {
  const header: { alg: string; kid?: string } = { alg: 'RS256' };
  const kid = 'kid' in opts ? opts.kid : KID;
  if (kid !== undefined) header.kid = kid;
  return new SignJWT(payload).setProtectedHeader(header).sign((opts.pair ?? pairA).privateKey);
}

function setup(overrides: Partial<VerifyInstallTokenOptions> = {}, serverKeys?: () => Record<string, string>) {
  const server = keyServer(serverKeys ?? (() => ({ [KID]: pemA })));
  const resolver = createInstallKeyResolver({ keyServerUrl: KEY_SERVER, fetch: server.fetch, cacheSize: 4 });
  const options: VerifyInstallTokenOptions = {
    clientKey: CLIENT_KEY,
    appBaseUrl: APP_BASE_URL,
    resolver,
    clock: createManualClock(T0),
    expectedPath: '/installed',
    ...overrides,
  };
  return { server, resolver, options };
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, reason?: string): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof GatewayError, `expected GatewayError, got ${String(e)}`);
    assert.equal(e.code, code);
    // Every refusal says what was wrong, in words a developer reading the log understands.
    assert.match(e.message, /^(The (install token|lifecycle request|install key server) [a-z]|Install key server: )/);
    if (reason !== undefined) assert.equal(e.details?.reason, reason);
    return e;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

describe('verifyInstallToken', () => {
  test('a valid signed install verifies; the key is fetched once from <keyServerUrl>/<kid> and cached', async () => {
    const { server, options } = setup();
    const token = await sign(claims());
    const out = await verifyInstallToken(token, options);
    assert.deepEqual(out, { clientKey: CLIENT_KEY, kid: KID, accountId: 'ctx-account', expiresAt: T0 + 600_000, issuedAt: T0 });
    await verifyInstallToken(token, options);
    assert.deepEqual(server.calls, [`${KEY_SERVER}/${KID}`]);
  });

  test('/uninstalled uses its own qsh, and an /installed token is refused there', async () => {
    const { options } = setup({ expectedPath: '/uninstalled' });
    const uninstall = await sign(claims({ qsh: queryStringHash({ method: 'POST', pathname: '/uninstalled' }) }));
    assert.equal((await verifyInstallToken(uninstall, options)).clientKey, CLIENT_KEY);
    await rejectsWith(verifyInstallToken(await sign(claims()), options), 'INSTALL_SIGNATURE_INVALID', 'qsh_mismatch');
  });

  const audCases: Array<[string, unknown, string]> = [
    ['aud as array, first element', [APP_BASE_URL, 'https://other'], APP_BASE_URL],
    ['aud with trailing slash', `${APP_BASE_URL}/`, APP_BASE_URL],
    ['app baseUrl with trailing slash', APP_BASE_URL, `${APP_BASE_URL}/`],
  ];
  for (const [name, aud, appBaseUrl] of audCases) {
    test(`accepts ${name}`, async () => {
      const { options } = setup({ appBaseUrl });
      assert.equal((await verifyInstallToken(await sign(claims({ aud })), options)).kid, KID);
    });
  }

  test('sub is the accountId when there is no context user', async () => {
    const { options } = setup();
    assert.equal((await verifyInstallToken(await sign(claims({ context: {} })), options)).accountId, 'installer-account');
  });

  const claimRefusals: Array<[string, Record<string, unknown>, ErrorCode, string | undefined]> = [
    ['iss other than the body clientKey', { iss: 'someone-else' }, 'INSTALL_SIGNATURE_INVALID', 'iss_mismatch'],
    ['missing iss', { iss: undefined }, 'INSTALL_SIGNATURE_INVALID', 'iss_mismatch'],
    ['aud of another app', { aud: 'https://evil.example.com' }, 'INSTALL_SIGNATURE_INVALID', 'aud_mismatch'],
    ['aud second element only', { aud: ['https://evil.example.com', APP_BASE_URL] }, 'INSTALL_SIGNATURE_INVALID', 'aud_mismatch'],
    ['missing aud', { aud: undefined }, 'INSTALL_SIGNATURE_INVALID', 'aud_mismatch'],
    ['missing qsh', { qsh: undefined }, 'INSTALL_SIGNATURE_INVALID', 'qsh_mismatch'],
    ['qsh of a GET', { qsh: queryStringHash({ method: 'GET', pathname: '/installed' }) }, 'INSTALL_SIGNATURE_INVALID', 'qsh_mismatch'],
    ['missing exp', { exp: undefined }, 'INSTALL_SIGNATURE_INVALID', 'missing_exp'],
    ['expired', { exp: Math.floor(T0 / 1000) }, 'JWT_EXPIRED', undefined],
    ['nbf in the future', { nbf: Math.floor(T0 / 1000) + 120 }, 'INSTALL_SIGNATURE_INVALID', 'not_yet_valid'],
  ];
  for (const [name, overrides, code, reason] of claimRefusals) {
    test(`refuses ${name}`, async () => {
      const { options } = setup();
      await rejectsWith(verifyInstallToken(await sign(claims(overrides)), options), code, reason);
    });
  }

  test('leeway: 10 s past exp passes with leeway 30, fails with 0; 31 is refused as a setting', async () => {
    const exp = Math.floor(T0 / 1000);
    const clock = createManualClock(T0 + 10_000);
    const token = await sign(claims({ exp }));
    assert.equal((await verifyInstallToken(token, setup({ clock, leewaySeconds: 30 }).options)).kid, KID);
    await rejectsWith(verifyInstallToken(token, setup({ clock, leewaySeconds: 0 }).options), 'JWT_EXPIRED');
    await assert.rejects(verifyInstallToken(token, setup({ leewaySeconds: 31 }).options), RangeError);
  });

  test('a token signed by another key is refused', async () => {
    const { options } = setup();
    await rejectsWith(verifyInstallToken(await sign(claims(), { pair: pairB }), options), 'INSTALL_SIGNATURE_INVALID', 'bad_signature');
  });

  test('key rotation: a new kid fetches the new key', async () => {
    const { server, options } = setup({}, () => ({ [KID]: pemA, 'kid-2': pemB }));
    await verifyInstallToken(await sign(claims()), options);
    await verifyInstallToken(await sign(claims(), { kid: 'kid-2', pair: pairB }), options);
    assert.deepEqual(server.calls, [`${KEY_SERVER}/${KID}`, `${KEY_SERVER}/kid-2`]);
  });

  test('HS256 token (alg confusion with the PEM as HMAC secret) is refused without fetching', async () => {
    const { server, options } = setup();
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64({ alg: 'HS256', kid: KID })}.${b64(claims())}`;
    const token = `${input}.${createHmac('sha256', pemA).update(input).digest('base64url')}`;
    await rejectsWith(verifyInstallToken(token, options), 'INSTALL_SIGNATURE_INVALID', 'alg_not_allowed');
    const none = `${b64({ alg: 'none', kid: KID })}.${b64(claims())}.`;
    await rejectsWith(verifyInstallToken(none, options), 'INSTALL_SIGNATURE_INVALID', 'alg_not_allowed');
    assert.deepEqual(server.calls, []);
  });

  const badKids: Array<[string, string | undefined]> = [
    ['missing kid', undefined],
    ['kid with a slash', '../../evil'],
    ['kid "..', '..'],
    ['kid with percent', '%2e%2e'],
    ['kid with a query', 'a?b=c'],
    ['kid too long', 'k'.repeat(129)],
  ];
  for (const [name, kid] of badKids) {
    test(`refuses ${name} without calling the key server`, async () => {
      const { server, options } = setup();
      await rejectsWith(verifyInstallToken(await sign(claims(), { kid }), options), 'INSTALL_SIGNATURE_INVALID', 'bad_kid');
      assert.deepEqual(server.calls, []);
    });
  }

  test('a malformed token is refused', async () => {
    await rejectsWith(verifyInstallToken('not-a-jwt', setup().options), 'INSTALL_SIGNATURE_INVALID', 'malformed');
    await rejectsWith(verifyInstallToken('', setup().options), 'INSTALL_SIGNATURE_INVALID', 'missing');
  });
});

describe('createInstallKeyResolver', () => {
  test('unknown kid (404) → INSTALL_SIGNATURE_INVALID unknown_kid', async () => {
    const server = keyServer(() => ({}));
    const resolver = createInstallKeyResolver({ keyServerUrl: KEY_SERVER, fetch: server.fetch });
    await rejectsWith(resolver.getKey('nope'), 'INSTALL_SIGNATURE_INVALID', 'unknown_kid');
  });

  const outages: Array<[string, { status?: number; fail?: boolean }, string, boolean]> = [
    ['HTTP 500', { status: 500 }, 'key_server_error', true],
    ['HTTP 403', { status: 403 }, 'key_server_error', false],
    ['network failure', { fail: true }, 'network_error', true],
  ];
  for (const [name, behaviour, reason, retryable] of outages) {
    test(`key server ${name} → ATLASSIAN_UNAVAILABLE (${reason})`, async () => {
      const server = keyServer(() => ({ [KID]: pemA }), behaviour);
      const resolver = createInstallKeyResolver({ keyServerUrl: KEY_SERVER, fetch: server.fetch });
      const err = await rejectsWith(resolver.getKey(KID), 'ATLASSIAN_UNAVAILABLE', reason);
      assert.equal(err.details?.retryable, retryable);
    });
  }

  test('a body that is not a PEM key → ATLASSIAN_UNAVAILABLE key_server_bad_key', async () => {
    const resolver = createInstallKeyResolver({
      keyServerUrl: KEY_SERVER,
      fetch: async () => new Response('<html>maintenance</html>', { status: 200 }),
    });
    await rejectsWith(resolver.getKey(KID), 'ATLASSIAN_UNAVAILABLE', 'key_server_bad_key');
  });

  test('failures are not cached: the next call fetches again', async () => {
    let up = false;
    const calls: string[] = [];
    const resolver = createInstallKeyResolver({
      keyServerUrl: `${KEY_SERVER}/`,
      fetch: async (url) => {
        calls.push(url);
        return up ? new Response(pemA) : new Response('down', { status: 503 });
      },
    });
    await rejectsWith(resolver.getKey(KID), 'ATLASSIAN_UNAVAILABLE');
    up = true;
    await resolver.getKey(KID);
    await resolver.getKey(KID);
    assert.deepEqual(calls, [`${KEY_SERVER}/${KID}`, `${KEY_SERVER}/${KID}`]);
  });

  test('concurrent requests for one kid share one fetch', async () => {
    const server = keyServer(() => ({ [KID]: pemA }));
    const resolver = createInstallKeyResolver({ keyServerUrl: KEY_SERVER, fetch: server.fetch });
    const [a, b] = await Promise.all([resolver.getKey(KID), resolver.getKey(KID)]);
    assert.equal(a, b);
    assert.equal(server.calls.length, 1);
  });

  test('cacheSize bounds the cache (least recently used is dropped)', async () => {
    const server = keyServer(() => ({ k1: pemA, k2: pemB, k3: pemA }));
    const resolver: InstallKeyResolver = createInstallKeyResolver({ keyServerUrl: KEY_SERVER, fetch: server.fetch, cacheSize: 2 });
    for (const kid of ['k1', 'k2', 'k1', 'k3', 'k1', 'k2']) await resolver.getKey(kid);
    // k1,k2 fetched; k1 hit; k3 fetched (evicts k2); k1 hit; k2 fetched again.
    assert.deepEqual(
      server.calls.map((u) => u.slice(KEY_SERVER.length + 1)),
      ['k1', 'k2', 'k3', 'k2'],
    );
  });

  const badOptions: Array<[string, () => unknown]> = [
    ['a non-URL key server', () => createInstallKeyResolver({ keyServerUrl: 'not a url', fetch: keyServer(() => ({})).fetch })],
    ['a key server URL with a query', () => createInstallKeyResolver({ keyServerUrl: 'https://k?x=1', fetch: keyServer(() => ({})).fetch })],
    ['a ftp key server', () => createInstallKeyResolver({ keyServerUrl: 'ftp://k', fetch: keyServer(() => ({})).fetch })],
    ['cacheSize 0', () => createInstallKeyResolver({ keyServerUrl: KEY_SERVER, fetch: keyServer(() => ({})).fetch, cacheSize: 0 })],
  ];
  for (const [name, fn] of badOptions) test(`refuses ${name} at creation`, () => assert.throws(fn));
});

/** Cases found by mutation testing (docs/testing.md): each a check whose removal no other test noticed. */
describe('verifyInstallToken: edges found by mutation testing', () => {
  const rawSigned = (payload: Uint8Array) => new CompactSign(payload).setProtectedHeader({ alg: 'RS256', kid: KID }).sign(pairA.privateKey);

  test('a payload that is not a JSON object, or not UTF-8, is malformed even when signed', async () => {
    const { options } = setup();
    const enc = new TextEncoder();
    for (const text of ['[1,2]', 'null', '"iss"', '{"iss":', 'not json']) {
      await rejectsWith(verifyInstallToken(await rawSigned(enc.encode(text)), options), 'INSTALL_SIGNATURE_INVALID', 'malformed');
    }
    const claimsText = JSON.stringify(claims({ iss: 'X' }));
    const bytes = Buffer.from(claimsText, 'utf8');
    bytes[bytes.indexOf(Buffer.from('"X"')) + 1] = 0xff;
    await rejectsWith(verifyInstallToken(await rawSigned(bytes), options), 'INSTALL_SIGNATURE_INVALID', 'malformed');
  });

  test('claims: a string nbf is refused; sub, context and iat are read only when well formed', async () => {
    const { options } = setup();
    await rejectsWith(verifyInstallToken(await sign(claims({ nbf: String(Math.floor(T0 / 1000) - 10) })), options), 'INSTALL_SIGNATURE_INVALID', 'bad_nbf');
    const out = (c: Record<string, unknown>) => sign(claims(c)).then((t) => verifyInstallToken(t, options));
    assert.equal((await out({ context: undefined })).accountId, 'installer-account');
    assert.equal((await out({ context: { user: 'x' } })).accountId, 'installer-account');
    assert.equal((await out({ context: { user: { accountId: '' } } })).accountId, 'installer-account');
    assert.equal((await out({ context: undefined, sub: '' })).accountId, undefined);
    assert.equal((await out({ iat: undefined })).issuedAt, undefined);
  });

  test('aud may end in several slashes, like the app baseUrl', async () => {
    const { options } = setup();
    assert.equal((await verifyInstallToken(await sign(claims({ aud: `${APP_BASE_URL}//` })), options)).kid, KID);
  });

  test('programming errors: a path other than the two lifecycle paths; a token that is not a string', async () => {
    const { options } = setup({ expectedPath: '/enabled' as '/installed' });
    await assert.rejects(verifyInstallToken(await sign(claims()), options), RangeError);
    await rejectsWith(verifyInstallToken(undefined as unknown as string, setup().options), 'INSTALL_SIGNATURE_INVALID', 'missing');
  });
});

describe('createInstallKeyResolver: edges found by mutation testing', () => {
  const resolverWith = (pem: string | undefined, url = KEY_SERVER, cacheSize = 4) => {
    const calls: string[] = [];
    const fetch = async (u: string) => {
      calls.push(u);
      return pem === undefined ? new Response('nope', { status: 404 }) : new Response(pem, { status: 200 });
    };
    return { calls, resolver: createInstallKeyResolver({ keyServerUrl: url, fetch, cacheSize }) };
  };

  test('a kid that is a dot segment or has a slash is refused without a fetch, by the resolver itself', async () => {
    const { calls, resolver } = resolverWith('x');
    for (const kid of ['.', '..', 'a/b', '../x', '']) {
      await assert.rejects(resolver.getKey(kid), (e: unknown) => e instanceof GatewayError && e.details?.['reason'] === 'bad_kid', kid);
    }
    assert.deepEqual(calls, []);
  });

  test('the PEM may come with blank lines around it; a key that is not a PEM is not worth retrying', async () => {
    assert.ok(await resolverWith(`\n\n${pemA}\n\n`).resolver.getKey(KID));
    await assert.rejects(resolverWith('not a pem').resolver.getKey(KID), (e: unknown) => e instanceof GatewayError && e.details?.['reason'] === 'key_server_bad_key' && e.details?.['retryable'] === false);
  });

  test('options: plain http is allowed (the sandbox), other schemes and non-URLs are not; a cache of one is fine', async () => {
    assert.ok(await resolverWith(pemA, 'http://127.0.0.1:4100/keys').resolver.getKey(KID));
    assert.throws(() => resolverWith(pemA, 'ftp://keys.test'), /http\(s\) URL/);
    assert.throws(() => resolverWith(pemA, 'not a url'), /keyServerUrl is not a URL/);
    assert.ok(await resolverWith(pemA, KEY_SERVER, 1).resolver.getKey(KID));
    assert.throws(() => resolverWith(pemA, KEY_SERVER, 0), RangeError);
  });
});

describe('install verification: edges found by mutation testing (second run)', () => {
  test('each refusal names what failed: JSON, signature, expiry (with its time), path and leeway settings', async () => {
    const { options } = setup();
    const enc = new TextEncoder();
    const raw = await new CompactSign(enc.encode('not json')).setProtectedHeader({ alg: 'RS256', kid: KID }).sign(pairA.privateKey);
    const notJson = await rejectsWith(verifyInstallToken(raw, options), 'INSTALL_SIGNATURE_INVALID', 'malformed');
    assert.equal(notJson.message, 'The install token payload is not JSON.');
    const exp = Math.floor(T0 / 1000) - 1;
    const expired = await rejectsWith(verifyInstallToken(await sign(claims({ exp })), options), 'JWT_EXPIRED');
    assert.deepEqual(expired.details, { expiredAt: exp });
    await assert.rejects(verifyInstallToken(await sign(claims()), { ...options, expectedPath: '/enabled' as '/installed' }), {
      name: 'RangeError',
      message: 'verifyInstallToken: expectedPath must be /installed or /uninstalled, got /enabled',
    });
    await assert.rejects(verifyInstallToken(await sign(claims()), { ...options, leewaySeconds: 31 }), {
      name: 'RangeError',
      message: 'verifyInstallToken: leewaySeconds must be an integer from 0 to 30, got 31',
    });
  });

  test('a key the verifier cannot use is malformed, not a bad signature', async () => {
    const ec = await generateKeyPair('ES256');
    const resolver = { getKey: async () => ec.publicKey as InstallPublicKey };
    const { options } = setup({ resolver });
    const e = await rejectsWith(verifyInstallToken(await sign(claims()), options), 'INSTALL_SIGNATURE_INVALID', 'malformed');
    assert.equal(e.message, 'The install token could not be verified.');
    assert.ok(e.cause !== undefined);
  });

  test('the caller\'s abort signal reaches the key resolver, and no signal is passed when there is none', async () => {
    const seen: Array<{ signal?: AbortSignal }> = [];
    const { resolver: real } = setup();
    const resolver = { getKey: (kid: string, opts?: { signal?: AbortSignal }) => (seen.push(opts ?? {}), real.getKey(kid, opts)) };
    const signal = new AbortController().signal;
    const { options } = setup({ resolver });
    await verifyInstallToken(await sign(claims()), options);
    await verifyInstallToken(await sign(claims()), { ...options, signal });
    assert.deepEqual(seen[0], {});
    assert.equal(seen[1]?.signal, signal);
  });

  test('an empty clientKey never matches, not even an empty iss', async () => {
    const { options } = setup({ clientKey: '' });
    await rejectsWith(verifyInstallToken(await sign(claims({ iss: '' })), options), 'INSTALL_SIGNATURE_INVALID', 'iss_mismatch');
  });

  test('a sub or iat of the wrong type is ignored, not passed on', async () => {
    const { options } = setup();
    const v = await verifyInstallToken(await sign(claims({ context: undefined, sub: 42, iat: String(Math.floor(T0 / 1000)) })), options);
    assert.equal(v.accountId, undefined);
    assert.equal(v.issuedAt, undefined);
  });
});

describe('createInstallKeyResolver: edges found by mutation testing (second run)', () => {
  function server(answer: () => Response | Promise<Response>) {
    const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
    const fetch = async (url: string, init?: RequestInit) => {
      calls.push({ url, init });
      return answer();
    };
    return { calls, fetch };
  }

  test('GET <keyServerUrl>/<kid> asking for a PEM, trailing slashes of the URL dropped, the signal passed only when given', async () => {
    const s = server(() => new Response(pemA));
    const resolver = resolverFor({ keyServerUrl: `${KEY_SERVER}//`, fetch: s.fetch });
    await resolver.getKey(KID);
    const signal = new AbortController().signal;
    await resolverFor({ keyServerUrl: KEY_SERVER, fetch: s.fetch }).getKey(KID, { signal });
    assert.equal(s.calls[0]?.url, `${KEY_SERVER}/${KID}`);
    assert.deepEqual(s.calls[0]?.init, { method: 'GET', headers: { accept: 'application/x-pem-file, text/plain, */*' } });
    assert.equal('signal' in (s.calls[0]?.init ?? {}), false);
    assert.equal(s.calls[1]?.init?.signal, signal);
  });

  test('refusals and failures, each with its message and whether a retry may help', async () => {
    const fail = async (answer: () => Response | Promise<Response>, kid = KID) => {
      try {
        await resolverFor({ keyServerUrl: KEY_SERVER, fetch: server(answer).fetch }).getKey(kid);
      } catch (e) {
        assert.ok(e instanceof GatewayError);
        return e;
      }
      return assert.fail('expected a refusal');
    };
    // A 404 or an error status without a body (the key server owes us none).
    const unknown = await fail(() => new Response(null, { status: 404 }));
    assert.deepEqual([unknown.code, unknown.message, unknown.details], ['INSTALL_SIGNATURE_INVALID', 'The install token names a key id the key server does not know.', { reason: 'unknown_kid', kid: KID }]);
    for (const [status, retryable] of [[500, true], [503, true], [429, true], [403, false], [499, false]] as const) {
      const e = await fail(() => new Response(null, { status }));
      assert.deepEqual([e.code, e.message, e.details], ['ATLASSIAN_UNAVAILABLE', `The install key server answered HTTP ${status}.`, { reason: 'key_server_error', status, retryable }], String(status));
    }
    const oversized = await fail(() => new Response(`${pemA}${' '.repeat(16 * 1024)}`));
    assert.deepEqual([oversized.code, oversized.message, oversized.details], ['ATLASSIAN_UNAVAILABLE', 'The install key server sent an oversized key.', { reason: 'key_server_bad_key', retryable: false }]);
    const notPem = await fail(() => new Response('not a pem'));
    assert.equal(notPem.message, 'The install key server sent something that is not an RSA public key (PEM).');
    const badKid = await fail(() => new Response(pemA), '../x');
    assert.deepEqual([badKid.code, badKid.message], ['INSTALL_SIGNATURE_INVALID', 'The install token key id (kid) is missing or has invalid characters.']);
    const down = await fail(() => Promise.reject(new TypeError('fetch failed')));
    assert.equal(down.message, 'Install key server: the request could not be sent.');
  });

  test('options: a query or fragment on the key server URL, and a bad cache size, are refused by name', () => {
    const fetch = server(() => new Response(pemA)).fetch;
    for (const url of [`${KEY_SERVER}/?x=1`, `${KEY_SERVER}/#f`]) {
      assert.throws(() => resolverFor({ keyServerUrl: url, fetch }), { name: 'TypeError', message: 'createInstallKeyResolver: keyServerUrl must not have a query or fragment' }, url);
    }
    assert.throws(() => resolverFor({ keyServerUrl: KEY_SERVER, fetch, cacheSize: 1.5 }), { name: 'RangeError', message: 'createInstallKeyResolver: cacheSize must be a positive integer, got 1.5' });
    assert.throws(
      () => resolverFor({ keyServerUrl: 'not a url', fetch }),
      (e: unknown) => e instanceof TypeError && e.message === 'createInstallKeyResolver: keyServerUrl is not a URL: not a url' && e.cause instanceof TypeError,
    );
  });
});

describe('install verification: edges found by mutation testing (third run)', () => {
  const signedText = (text: string) => new CompactSign(new TextEncoder().encode(text)).setProtectedHeader({ alg: 'RS256', kid: KID }).sign(pairA.privateKey);
  /** The claims as JSON text with `name` set to a literal number JSON.parse reads as ±Infinity. */
  const withHugeNumber = (name: string, literal: string) => {
    const text = JSON.stringify(claims({ [name]: 0 }));
    return text.replace(`"${name}":0`, `"${name}":${literal}`);
  };

  test('an exp, nbf or iat too large for a double (JSON.parse reads 1e999 as Infinity) is not a time', async () => {
    const { options } = setup();
    assert.equal(JSON.parse(withHugeNumber('exp', '1e999')).exp, Infinity, 'the token really carries Infinity');
    // A token that never expires is refused, not accepted forever.
    await rejectsWith(verifyInstallToken(await signedText(withHugeNumber('exp', '1e999')), options), 'INSTALL_SIGNATURE_INVALID', 'missing_exp');
    for (const literal of ['1e999', '-1e999']) {
      await rejectsWith(verifyInstallToken(await signedText(withHugeNumber('nbf', literal)), options), 'INSTALL_SIGNATURE_INVALID', 'bad_nbf');
    }
    const v = await verifyInstallToken(await signedText(withHugeNumber('iat', '1e999')), options);
    assert.deepEqual([v.clientKey, v.issuedAt], [CLIENT_KEY, undefined]);
  });

  test('a kid the verifier refuses never reaches a resolver the application supplies', async () => {
    const asked: string[] = [];
    const { resolver: real } = setup();
    const resolver: InstallKeyResolver = { getKey: (kid, opts) => (asked.push(kid), real.getKey(KID, opts)) };
    const { options } = setup({ resolver });
    for (const kid of [undefined, '../../evil', '..', '%2e%2e', 'k'.repeat(129)]) {
      const e = await rejectsWith(verifyInstallToken(await sign(claims(), { kid }), options), 'INSTALL_SIGNATURE_INVALID', 'bad_kid');
      assert.equal(e.message, 'The install token has no valid key id (kid).', String(kid));
    }
    assert.deepEqual(asked, []);
    assert.equal((await verifyInstallToken(await sign(claims()), options)).kid, KID);
    assert.deepEqual(asked, [KID]);
  });
});

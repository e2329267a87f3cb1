import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createManualClock } from '../clock.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import { queryStringHash } from './canonical-request.js';
import { checkTimeClaims } from './jwt-time.js';
import { signConnectJwt } from './sign-connect-jwt.js';
import { verifyConnectJwt, type VerifyConnectJwtOptions } from './verify-connect-jwt.js';
import { loadConformanceVectors } from './test-support/conformance.js';

const SECRET = 'tenant-shared-secret-0123456789';
const CLIENT_KEY = 'client-key-1';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function b64(v: unknown): string {
  return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8').toString('base64url');
}

/** Hand-made token with any header, HMAC-signed with `secret`. */
function craft(header: unknown, payload: unknown, secret = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function baseClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(T0 / 1000);
  return {
    iss: CLIENT_KEY,
    iat,
    exp: iat + 180,
    qsh: queryStringHash({ method: 'GET', pathname: '/main', query: 'lic=none' }),
    sub: 'acc-sub',
    ...overrides,
  };
}

function options(overrides: Partial<VerifyConnectJwtOptions> = {}): VerifyConnectJwtOptions & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    lookups,
    getSharedSecret: (clientKey) => {
      lookups.push(clientKey);
      return clientKey === CLIENT_KEY ? SECRET : undefined;
    },
    request: { method: 'GET', url: '/main?lic=none&jwt=ignored' },
    clock: createManualClock(T0),
    allowContextQsh: false,
    ...overrides,
  };
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, reason?: string): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof GatewayError, `expected GatewayError, got ${String(e)}`);
    assert.equal(e.code, code);
    // Every refusal says what was wrong: the message is what a developer reads in the log.
    assert.match(e.message, /^The JWT |^This endpoint |^A context JWT |^No installation |^No JWT /);
    if (reason !== undefined) assert.equal(e.details?.reason, reason);
    return e;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

describe('verifyConnectJwt: official conformance tokens', () => {
  const file = loadConformanceVectors();
  for (const vector of file.tests) {
    test(`verifies ${vector.name}`, async () => {
      const payload = JSON.parse(Buffer.from(vector.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
        iat: number;
        iss: string;
      };
      const verified = await verifyConnectJwt(vector.token, {
        getSharedSecret: (key) => (key === 'jira:1234-5678-9000' ? file.secret : undefined),
        request: { method: 'GET', url: vector.signedUrl },
        clock: createManualClock(payload.iat * 1000),
        allowContextQsh: false,
      });
      assert.equal(verified.clientKey, payload.iss);
      assert.equal(verified.isContextToken, false);
    });
  }

  test('B.1 "Simple" token: a wrong secret fails, the right one passes', async () => {
    const simple = file.tests.find((t) => t.name === 'Simple');
    assert.ok(simple);
    const base = {
      request: { method: 'GET', url: simple.signedUrl },
      clock: createManualClock(1466731075 * 1000),
      allowContextQsh: false,
    };
    await rejectsWith(verifyConnectJwt(simple.token, { ...base, getSharedSecret: () => 'wrong' }), 'JWT_INVALID', 'bad_signature');
    const ok = await verifyConnectJwt(simple.token, { ...base, getSharedSecret: () => file.secret });
    assert.equal(ok.expiresAt, 1466731255 * 1000);
  });
});

describe('signConnectJwt', () => {
  test('B.3 app→product example reproduces byte for byte', () => {
    const token = signConnectJwt(
      {
        iss: 'my-app-key',
        qsh: queryStringHash({ method: 'GET', pathname: '/rest/api/content/123', query: 'expand=version' }),
        aud: ['clientKey-1234'],
      },
      'test-shared-secret',
      createManualClock(1700000000 * 1000),
      180,
    );
    assert.equal(
      token,
      'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJteS1hcHAta2V5IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAxODAsInFzaCI6ImE1NWJhNTUxYWIzMDAyY2VhYTM0NDAwYzdmZTZiZGExMWRhZDJhMTJjY2RhOGIyNmVjNzZjYTAxZjE0ZTVkYWEiLCJhdWQiOlsiY2xpZW50S2V5LTEyMzQiXX0.uOQcNiLiNXT-_2V1npf5bcNg0R6mU8NkZD7XtRJ6_qA',
    );
  });

  test('default ttl is 180 s; iat follows the injected clock', () => {
    const clock = createManualClock(T0 + 999);
    const token = signConnectJwt({ iss: 'app', qsh: 'q' }, SECRET, clock);
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(payload, { iss: 'app', iat: T0 / 1000, exp: T0 / 1000 + 180, qsh: 'q' });
  });

  const bad: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ['empty iss', () => signConnectJwt({ iss: '', qsh: 'q' }, SECRET, createManualClock()), TypeError],
    ['empty qsh', () => signConnectJwt({ iss: 'a', qsh: '' }, SECRET, createManualClock()), TypeError],
    ['empty secret', () => signConnectJwt({ iss: 'a', qsh: 'q' }, '', createManualClock()), TypeError],
    ['ttl 0', () => signConnectJwt({ iss: 'a', qsh: 'q' }, SECRET, createManualClock(), 0), RangeError],
    ['ttl too long', () => signConnectJwt({ iss: 'a', qsh: 'q' }, SECRET, createManualClock(), 3601), RangeError],
  ];
  for (const [name, fn, type] of bad) test(`refuses ${name}`, () => assert.throws(fn, type));

  test('round trip: app-signed token (aud = [clientKey]) verifies, clientKey comes from aud[0]', async () => {
    const qsh = queryStringHash({ method: 'POST', pathname: '/rest/api/content', contextPath: '' });
    const token = signConnectJwt({ iss: 'my-app-key', aud: [CLIENT_KEY], sub: 'acc-1', qsh }, SECRET, createManualClock(T0));
    const out = await verifyConnectJwt(token, options({ request: { method: 'POST', pathname: '/wiki/rest/api/content' }, contextPath: '/wiki' }));
    assert.equal(out.clientKey, CLIENT_KEY);
    assert.equal(out.issuer, 'my-app-key');
    assert.equal(out.accountId, 'acc-1');
  });
});

describe('verifyConnectJwt: rules', () => {
  test('a valid token gives clientKey, accountId, times', async () => {
    const opts = options();
    const out = await verifyConnectJwt(craft({ typ: 'JWT', alg: 'HS256' }, baseClaims()), opts);
    assert.deepEqual(out, {
      clientKey: CLIENT_KEY,
      issuer: CLIENT_KEY,
      accountId: 'acc-sub',
      isContextToken: false,
      expiresAt: T0 + 180_000,
      issuedAt: T0,
      jwtId: undefined,
      context: undefined,
    });
    assert.deepEqual(opts.lookups, [CLIENT_KEY]);
  });

  test('a jti is returned as jwtId (replay protection keys on it); an empty or non-string one is ignored', async () => {
    assert.equal((await verifyConnectJwt(craft({ typ: 'JWT', alg: 'HS256' }, { ...baseClaims(), jti: 'd-1' }), options())).jwtId, 'd-1');
    assert.equal((await verifyConnectJwt(craft({ typ: 'JWT', alg: 'HS256' }, { ...baseClaims(), jti: '' }), options())).jwtId, undefined);
    assert.equal((await verifyConnectJwt(craft({ typ: 'JWT', alg: 'HS256' }, { ...baseClaims(), jti: 7 }), options())).jwtId, undefined);
  });

  test('context.user.accountId wins over sub (ACE order); anonymous → undefined', async () => {
    const withContext = craft({ alg: 'HS256' }, baseClaims({ context: { user: { accountId: 'acc-ctx' } } }));
    assert.equal((await verifyConnectJwt(withContext, options())).accountId, 'acc-ctx');
    const anonymous = craft({ alg: 'HS256' }, baseClaims({ sub: undefined }));
    assert.equal((await verifyConnectJwt(anonymous, options())).accountId, undefined);
  });

  const clientKeyCases: Array<[string, unknown, string]> = [
    ['aud array', [CLIENT_KEY, 'other'], CLIENT_KEY],
    ['aud string', CLIENT_KEY, CLIENT_KEY],
    ['empty aud array → iss', [], CLIENT_KEY],
  ];
  for (const [name, aud, expected] of clientKeyCases) {
    test(`clientKey from ${name}`, async () => {
      const token = craft({ alg: 'HS256' }, baseClaims({ iss: name === 'empty aud array → iss' ? CLIENT_KEY : 'app-key', aud }));
      assert.equal((await verifyConnectJwt(token, options())).clientKey, expected);
    });
  }

  // Algorithm refusals: none of these may even reach the key lookup.
  const algCases: Array<[string, unknown]> = [
    ['alg none', { alg: 'none', typ: 'JWT' }],
    ['alg None (case)', { alg: 'None' }],
    ['alg hs256 (case)', { alg: 'hs256' }],
    ['alg HS384', { alg: 'HS384' }],
    ['alg HS512', { alg: 'HS512' }],
    ['alg RS256 (confusion: HMAC over an RS header)', { alg: 'RS256' }],
    ['alg ES256', { alg: 'ES256' }],
    ['alg PS256', { alg: 'PS256' }],
    ['no alg', { typ: 'JWT' }],
    ['alg as array', { alg: ['HS256'] }],
  ];
  for (const [name, header] of algCases) {
    test(`refuses ${name} before looking up the secret`, async () => {
      const opts = options();
      await rejectsWith(verifyConnectJwt(craft(header, baseClaims()), opts), 'JWT_INVALID', 'alg_not_allowed');
      assert.deepEqual(opts.lookups, []);
    });
  }

  test('refuses an unsigned token (alg none, empty signature)', async () => {
    const token = `${b64({ alg: 'none' })}.${b64(baseClaims())}.`;
    await rejectsWith(verifyConnectJwt(token, options()), 'JWT_INVALID', 'alg_not_allowed');
  });

  test('refuses a crit header', async () => {
    await rejectsWith(verifyConnectJwt(craft({ alg: 'HS256', crit: ['x'] }, baseClaims()), options()), 'JWT_INVALID', 'crit_not_supported');
  });

  const malformed: Array<[string, string]> = [
    ['empty', ''],
    ['two segments', 'a.b'],
    ['four segments', 'a.b.c.d'],
    ['junk base64', `${b64({ alg: 'HS256' })}.!!!.abc`],
    ['payload not JSON', `${b64({ alg: 'HS256' })}.${b64('not json')}.abc`],
    ['payload an array', `${b64({ alg: 'HS256' })}.${b64([1])}.abc`],
  ];
  for (const [name, token] of malformed) {
    test(`refuses a malformed token: ${name}`, async () => {
      await rejectsWith(verifyConnectJwt(token, options()), 'JWT_INVALID');
    });
  }

  const claimCases: Array<[string, Record<string, unknown>, string]> = [
    ['missing iss', { iss: undefined }, 'missing_iss'],
    ['empty iss', { iss: '' }, 'missing_iss'],
    ['missing exp', { exp: undefined }, 'missing_exp'],
    ['string exp', { exp: '99999999999' }, 'bad_exp'],
    ['missing qsh', { qsh: undefined }, 'missing_qsh'],
    ['numeric sub', { sub: 5 }, 'bad_sub'],
    ['aud of numbers', { aud: [1] }, 'bad_aud'],
    ['context not an object', { context: 'x' }, 'bad_context'],
  ];
  for (const [name, overrides, reason] of claimCases) {
    test(`refuses ${name}`, async () => {
      await rejectsWith(verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims(overrides)), options()), 'JWT_INVALID', reason);
    });
  }

  test('exp, iat or nbf of 1e999 (JSON.parse reads Infinity: a token that never expires) is refused, not trusted', async () => {
    for (const claim of ['exp', 'iat', 'nbf']) {
      const payload = JSON.stringify(baseClaims({ [claim]: 424242 })).replace('424242', '1e999');
      assert.equal((JSON.parse(payload) as Record<string, number>)[claim], Infinity, 'the payload really carries Infinity');
      await rejectsWith(verifyConnectJwt(craft({ alg: 'HS256' }, payload), options()), 'JWT_INVALID', `bad_${claim}`);
    }
  });

  test('unknown clientKey → TENANT_UNKNOWN (secret never guessed)', async () => {
    const err = await rejectsWith(verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims({ iss: 'stranger' })), options()), 'TENANT_UNKNOWN');
    assert.equal(err.details?.clientKey, 'stranger');
  });

  test('async getSharedSecret is awaited', async () => {
    const out = await verifyConnectJwt(
      craft({ alg: 'HS256' }, baseClaims()),
      options({ getSharedSecret: async (k) => (k === CLIENT_KEY ? SECRET : undefined) }),
    );
    assert.equal(out.clientKey, CLIENT_KEY);
  });

  test('wrong secret → JWT_INVALID bad_signature', async () => {
    await rejectsWith(verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims(), 'other-secret'), options()), 'JWT_INVALID', 'bad_signature');
  });

  test('tampered payload → JWT_INVALID', async () => {
    const [h, , s] = craft({ alg: 'HS256' }, baseClaims()).split('.');
    const forged = `${h}.${b64(baseClaims({ sub: 'admin' }))}.${s}`;
    await rejectsWith(verifyConnectJwt(forged, options()), 'JWT_INVALID', 'bad_signature');
  });

  test('non-canonical signature encoding (trailing junk) is refused', async () => {
    const token = craft({ alg: 'HS256' }, baseClaims());
    await rejectsWith(verifyConnectJwt(`${token}A`, options()), 'JWT_INVALID', 'bad_signature');
    await rejectsWith(verifyConnectJwt(`${token}=`, options()), 'JWT_INVALID');
  });

  // Time table: exp = T0 + 180 s. `now >= exp + leeway` is expired.
  const timeCases: Array<{ offsetS: number; leeway: number; expect: 'ok' | ErrorCode }> = [
    { offsetS: 179, leeway: 0, expect: 'ok' },
    { offsetS: 180, leeway: 0, expect: 'JWT_EXPIRED' },
    { offsetS: 209, leeway: 30, expect: 'ok' },
    { offsetS: 210, leeway: 30, expect: 'JWT_EXPIRED' },
    { offsetS: 3600, leeway: 5, expect: 'JWT_EXPIRED' },
  ];
  for (const c of timeCases) {
    test(`now = iat+${c.offsetS}s with leeway ${c.leeway} → ${c.expect}`, async () => {
      const clock = createManualClock(T0);
      clock.advance(c.offsetS * 1000);
      const p = verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims()), options({ clock, leewaySeconds: c.leeway }));
      if (c.expect === 'ok') assert.equal((await p).clientKey, CLIENT_KEY);
      else await rejectsWith(p, c.expect);
    });
  }

  test('nbf in the future is refused', async () => {
    await rejectsWith(
      verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims({ nbf: T0 / 1000 + 60 })), options()),
      'JWT_INVALID',
      'not_yet_valid',
    );
  });

  const leewayCases: unknown[] = [31, -1, 1.5, Number.NaN];
  for (const leeway of leewayCases) {
    test(`leewaySeconds ${String(leeway)} is a programming error`, async () => {
      await assert.rejects(
        verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims()), options({ leewaySeconds: leeway as number })),
        RangeError,
      );
    });
  }

  test('qsh mismatch: a changed query parameter', async () => {
    await rejectsWith(
      verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims()), options({ request: { method: 'GET', url: '/main?lic=active' } })),
      'QSH_MISMATCH',
      'qsh_mismatch',
    );
  });

  test('qsh mismatch: a different method', async () => {
    await rejectsWith(
      verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims()), options({ request: { method: 'POST', url: '/main?lic=none' } })),
      'QSH_MISMATCH',
    );
  });

  test('the app baseUrl path is stripped (contextPath)', async () => {
    const out = await verifyConnectJwt(
      craft({ alg: 'HS256' }, baseClaims()),
      options({ request: { method: 'GET', pathname: '/base/main', query: 'lic=none' }, contextPath: '/base' }),
    );
    assert.equal(out.clientKey, CLIENT_KEY);
  });

  describe('form-body parameters (POST)', () => {
    const bodyParams = 'lic=none&tz=Australia%2FSydney&xdm_p=1';
    const bodyQsh = queryStringHash({ method: 'POST', pathname: '/hello-world', query: bodyParams });
    test('accepted when the URL has no query', async () => {
      const out = await verifyConnectJwt(
        craft({ alg: 'HS256' }, baseClaims({ qsh: bodyQsh })),
        options({ request: { method: 'POST', url: '/hello-world', formBody: bodyParams } }),
      );
      assert.equal(out.clientKey, CLIENT_KEY);
    });
    test('a token over the bare URL still passes when a body is present', async () => {
      const bare = queryStringHash({ method: 'POST', pathname: '/hello-world' });
      const out = await verifyConnectJwt(
        craft({ alg: 'HS256' }, baseClaims({ qsh: bare })),
        options({ request: { method: 'POST', url: '/hello-world', formBody: bodyParams } }),
      );
      assert.equal(out.clientKey, CLIENT_KEY);
    });
    test('not used when the URL carries its own parameters', async () => {
      await rejectsWith(
        verifyConnectJwt(
          craft({ alg: 'HS256' }, baseClaims({ qsh: bodyQsh })),
          options({ request: { method: 'POST', url: '/hello-world?x=1', formBody: bodyParams } }),
        ),
        'QSH_MISMATCH',
      );
    });
    test('not used for GET', async () => {
      const getQsh = queryStringHash({ method: 'GET', pathname: '/hello-world', query: bodyParams });
      await rejectsWith(
        verifyConnectJwt(
          craft({ alg: 'HS256' }, baseClaims({ qsh: getQsh })),
          options({ request: { method: 'GET', url: '/hello-world', formBody: bodyParams } }),
        ),
        'QSH_MISMATCH',
      );
    });
  });

  describe('context-qsh', () => {
    test('accepted on a context route, flagged as context token', async () => {
      const out = await verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims({ qsh: 'context-qsh' })), options({ allowContextQsh: true }));
      assert.equal(out.isContextToken, true);
    });
    test('a context route needs no request', async () => {
      const out = await verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims({ qsh: 'context-qsh' })), options({ allowContextQsh: true, request: undefined }));
      assert.equal(out.isContextToken, true);
    });
    test('a normal route without a request is a programming error', async () => {
      await assert.rejects(verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims()), options({ request: undefined })), TypeError);
    });
    test('refused on a normal route', async () => {
      await rejectsWith(
        verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims({ qsh: 'context-qsh' })), options({ allowContextQsh: false })),
        'QSH_MISMATCH',
        'context_qsh_not_allowed',
      );
    });
    test('a context route refuses a token with a real (even correct) qsh (G4J)', async () => {
      await rejectsWith(
        verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims()), options({ allowContextQsh: true })),
        'QSH_MISMATCH',
        'context_qsh_required',
      );
    });
  });

  test('errors never carry the token or the secret', async () => {
    const token = craft({ alg: 'HS256' }, baseClaims(), 'other-secret');
    const errs: GatewayError[] = [
      await rejectsWith(verifyConnectJwt(token, options()), 'JWT_INVALID'),
      await rejectsWith(verifyConnectJwt(craft({ alg: 'HS256' }, baseClaims({ qsh: 'nope' })), options()), 'QSH_MISMATCH'),
    ];
    for (const err of errs) {
      for (const text of [JSON.stringify(err), err.message, JSON.stringify(err.details ?? {})]) {
        assert.ok(!text.includes(SECRET));
        assert.ok(!text.includes(token.split('.')[2] ?? '§'));
        assert.ok(!text.includes(token.split('.')[1] ?? '§'));
      }
    }
  });
});

/** Cases found by mutation testing (docs/testing.md): each one a check whose removal no other test noticed. */
describe('verifyConnectJwt: edges found by mutation testing', () => {
  const formQsh = (method: string) => queryStringHash({ method, pathname: '/hook', query: 'a=1&b=2' });
  const hs = { alg: 'HS256', typ: 'JWT' };

  test('form-body fallback: only a qsh that matches the body fields is accepted', async () => {
    const good = craft(hs, baseClaims({ qsh: formQsh('POST') }));
    const forged = craft(hs, baseClaims({ qsh: queryStringHash({ method: 'POST', pathname: '/hook', query: 'a=1&b=3' }) }));
    const req = { method: 'POST', url: '/hook', formBody: 'a=1&b=2' };
    assert.equal((await verifyConnectJwt(good, options({ request: req }))).clientKey, CLIENT_KEY);
    await rejectsWith(verifyConnectJwt(forged, options({ request: req })), 'QSH_MISMATCH', 'qsh_mismatch');
  });

  test('form-body fallback: POST and PUT (any case), not GET; a URL holding only jwt counts as no parameters', async () => {
    for (const method of ['PUT', 'put', 'post']) {
      const token = craft(hs, baseClaims({ qsh: formQsh(method) }));
      assert.equal((await verifyConnectJwt(token, options({ request: { method, url: '/hook?jwt=x', formBody: 'a=1&b=2' } }))).clientKey, CLIENT_KEY, method);
      assert.equal((await verifyConnectJwt(token, options({ request: { method, pathname: '/hook', query: [['jwt', 'x']], formBody: [['a', '1'], ['b', '2']] } }))).clientKey, CLIENT_KEY, `${method} entries`);
    }
    const get = craft(hs, baseClaims({ qsh: formQsh('GET') }));
    await rejectsWith(verifyConnectJwt(get, options({ request: { method: 'GET', url: '/hook', formBody: 'a=1&b=2' } })), 'QSH_MISMATCH');
    const withParams = craft(hs, baseClaims({ qsh: formQsh('POST') }));
    await rejectsWith(verifyConnectJwt(withParams, options({ request: { method: 'POST', url: '/hook?c=3', formBody: 'a=1&b=2' } })), 'QSH_MISMATCH');
  });

  test('an empty shared secret is no installation: a token signed with the empty key is refused', async () => {
    const token = craft(hs, baseClaims(), '');
    await rejectsWith(verifyConnectJwt(token, options({ getSharedSecret: () => '' })), 'TENANT_UNKNOWN');
  });

  test('an unknown client key is reported cut to 200 characters', async () => {
    const long = 'k'.repeat(300);
    const e = await rejectsWith(verifyConnectJwt(craft(hs, baseClaims({ iss: long })), options()), 'TENANT_UNKNOWN');
    assert.equal(e.details?.['clientKey'], 'k'.repeat(200));
  });

  test('malformed claims: empty qsh, string exp, null context, empty token', async () => {
    await rejectsWith(verifyConnectJwt(craft(hs, baseClaims({ qsh: '' })), options()), 'JWT_INVALID', 'missing_qsh');
    await rejectsWith(verifyConnectJwt(craft(hs, baseClaims({ exp: String(Math.floor(T0 / 1000) + 180) })), options()), 'JWT_INVALID', 'bad_exp');
    await rejectsWith(verifyConnectJwt(craft(hs, baseClaims({ context: null })), options()), 'JWT_INVALID', 'bad_context');
    await rejectsWith(verifyConnectJwt('', options()), 'JWT_INVALID', 'missing');
    await rejectsWith(verifyConnectJwt(undefined as unknown as string, options()), 'JWT_INVALID', 'missing');
  });

  test('an expired token says when it expired', async () => {
    const exp = Math.floor(T0 / 1000) - 1;
    const e = await rejectsWith(verifyConnectJwt(craft(hs, baseClaims({ exp })), options()), 'JWT_EXPIRED');
    assert.deepEqual(e.details, { expiredAt: exp });
  });

  test('aud [""] falls back to iss; accountId: a non-empty context.user.accountId, else a non-empty sub', async () => {
    assert.equal((await verifyConnectJwt(craft(hs, baseClaims({ aud: [''] })), options())).clientKey, CLIENT_KEY);
    const v = (claims: Record<string, unknown>) => verifyConnectJwt(craft(hs, baseClaims(claims)), options());
    assert.equal((await v({ context: { user: { accountId: '' } }, sub: 'from-sub' })).accountId, 'from-sub');
    assert.equal((await v({ context: { user: { accountId: 'from-context' } }, sub: 'from-sub' })).accountId, 'from-context');
    assert.equal((await v({ sub: '' })).accountId, undefined);
    assert.equal((await v({ sub: undefined })).accountId, undefined);
  });

  test('issuedAt is undefined without iat, milliseconds with it', async () => {
    assert.equal((await verifyConnectJwt(craft(hs, baseClaims({ iat: undefined })), options())).issuedAt, undefined);
    assert.equal((await verifyConnectJwt(craft(hs, baseClaims()), options())).issuedAt, Math.floor(T0 / 1000) * 1000);
  });

  test('a real qsh without the request it should match is a programming error, not a pass', async () => {
    await assert.rejects(verifyConnectJwt(craft(hs, baseClaims()), options({ request: undefined })), { name: 'TypeError', message: 'verifyConnectJwt: request is required to check a qsh' });
  });

  test('a bad leeway is a RangeError that names the function and the allowed range', async () => {
    for (const leewaySeconds of [-1, 31, 1.5]) {
      await assert.rejects(verifyConnectJwt(craft(hs, baseClaims()), options({ leewaySeconds })), {
        name: 'RangeError',
        message: `verifyConnectJwt: leewaySeconds must be an integer from 0 to 30, got ${leewaySeconds}`,
      });
    }
  });

  test('checkTimeClaims answers ok inside the window, expired from exp on, not_yet_valid before nbf', () => {
    assert.equal(checkTimeClaims(100, 101, undefined, 0), 'ok');
    assert.equal(checkTimeClaims(100, 101, 100, 0), 'ok');
    assert.equal(checkTimeClaims(101, 101, undefined, 0), 'expired');
    assert.equal(checkTimeClaims(100, 101, 101, 0), 'not_yet_valid');
  });
});

describe('signConnectJwt: refuses what would make an unverifiable token', () => {
  const clock = createManualClock(T0);
  test('iss, qsh and secret are required; ttl from 1 s to 1 h', () => {
    assert.throws(() => signConnectJwt({ iss: '', qsh: 'q' }, SECRET, clock), /iss/);
    assert.throws(() => signConnectJwt({ iss: 'app', qsh: '' }, SECRET, clock), /qsh/);
    assert.throws(() => signConnectJwt({ iss: 'app', qsh: 'q' }, '', clock), /shared secret/);
    assert.throws(() => signConnectJwt({ iss: 42 as unknown as string, qsh: 'q' }, SECRET, clock), { name: 'TypeError', message: 'signConnectJwt: iss (the app key) is required' });
    assert.throws(() => signConnectJwt({ iss: 'app', qsh: undefined as unknown as string }, SECRET, clock), { name: 'TypeError', message: 'signConnectJwt: qsh is required' });
    assert.throws(() => signConnectJwt({ iss: 'app', qsh: 'q' }, undefined as unknown as string, clock), { name: 'TypeError', message: 'signConnectJwt: the shared secret is empty' });
    assert.throws(() => signConnectJwt({ iss: 'app', qsh: 'q' }, SECRET, clock, 0), { name: 'RangeError', message: 'signConnectJwt: ttlSeconds must be an integer from 1 to 3600, got 0' });
    assert.throws(() => signConnectJwt({ iss: 'app', qsh: 'q' }, SECRET, clock, 3601), RangeError);
    for (const ttl of [1, 3600]) assert.equal(typeof signConnectJwt({ iss: 'app', qsh: 'q' }, SECRET, clock, ttl), 'string');
  });
  test('aud, sub and context are written only when given, aud as given', () => {
    const payloadOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    const bare = payloadOf(signConnectJwt({ iss: 'app', qsh: 'q' }, SECRET, clock));
    assert.deepEqual(Object.keys(bare), ['iss', 'iat', 'exp', 'qsh']);
    const full = payloadOf(signConnectJwt({ iss: 'app', qsh: 'q', aud: 'ck', sub: 's', context: { a: 1 } }, SECRET, clock));
    assert.deepEqual({ aud: full['aud'], sub: full['sub'], context: full['context'] }, { aud: 'ck', sub: 's', context: { a: 1 } });
    assert.deepEqual(payloadOf(signConnectJwt({ iss: 'app', qsh: 'q', aud: ['ck'] }, SECRET, clock))['aud'], ['ck']);
  });
});

describe('compact JWS shape and nbf (mutation-testing finds)', () => {
  const hs = { alg: 'HS256', typ: 'JWT' };
  const sign = (input: string, secret = SECRET) => `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;

  test('only the canonical compact form is read, even when the signature covers the odd bytes', async () => {
    const valid = craft(hs, baseClaims());
    const [h = '', p = ''] = valid.split('.');
    const malformed: Array<[string, string]> = [
      ['a fourth part', `${valid}.x`],
      ['padding in the header', sign(`${h}=.${p}`)],
      ['a standard-base64 character in the payload', sign(`${h}.${p}+`)],
      ['padding in the signature', `${valid}=`],
      ['an array payload', sign(`${h}.${b64([1, 2])}`)],
      ['a string payload', sign(`${h}.${b64(JSON.stringify('iss'))}`)],
      ['a null payload', sign(`${h}.${b64('null')}`)],
      ['an empty header', sign(`.${p}`)],
    ];
    for (const [name, token] of malformed) await rejectsWith(verifyConnectJwt(token, options()), 'JWT_INVALID', 'malformed').catch((e: unknown) => assert.fail(`${name}: ${String(e)}`));
    assert.equal((await verifyConnectJwt(valid, options())).clientKey, CLIENT_KEY);
  });

  test('nbf: refused before it, accepted from it on, with the leeway on both sides', async () => {
    const now = Math.floor(T0 / 1000);
    await rejectsWith(verifyConnectJwt(craft(hs, baseClaims({ nbf: now + 1 })), options()), 'JWT_INVALID', 'not_yet_valid');
    assert.equal((await verifyConnectJwt(craft(hs, baseClaims({ nbf: now })), options())).clientKey, CLIENT_KEY);
    assert.equal((await verifyConnectJwt(craft(hs, baseClaims({ nbf: now + 5 })), options({ leewaySeconds: 5 }))).clientKey, CLIENT_KEY);
    await rejectsWith(verifyConnectJwt(craft(hs, baseClaims({ nbf: now + 6 })), options({ leewaySeconds: 5 })), 'JWT_INVALID', 'not_yet_valid');
  });
});

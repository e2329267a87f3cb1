import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createManualClock } from '../clock.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import { createJwtBearerAssertion } from './jwt-bearer-assertion.js';
import { jwtBearerTokenRequest, normaliseConnectScopes, processJwtBearerTokenResponse } from './jwt-bearer-token.js';
import type { FetchLike } from './send-request.js';

const AUTH_SERVER = 'https://oauth-2-authorization-server.services.atlassian.com';
const TOKEN_ENDPOINT = `${AUTH_SERVER}/oauth2/token`;

function decodePart(token: string, i: number): unknown {
  return JSON.parse(Buffer.from(token.split('.')[i] ?? '', 'base64url').toString('utf8'));
}

describe('createJwtBearerAssertion', () => {
  const example = {
    oauthClientId: 'my-oauth-client-id',
    accountId: '557058:d092c978-5ab7-4c8a-8d87-32ffac22c584',
    tenantBaseUrl: 'https://example.atlassian.net/wiki',
    authServerUrl: AUTH_SERVER,
    sharedSecret: 'test-shared-secret',
    clock: createManualClock(1700000000 * 1000),
  };

  test('§3.2 worked example reproduces byte for byte', () => {
    assert.equal(
      createJwtBearerAssertion(example),
      'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ1cm46YXRsYXNzaWFuOmNvbm5lY3Q6Y2xpZW50aWQ6bXktb2F1dGgtY2xpZW50LWlkIiwic3ViIjoidXJuOmF0bGFzc2lhbjpjb25uZWN0OnVzZXJhY2NvdW50aWQ6NTU3MDU4OmQwOTJjOTc4LTVhYjctNGM4YS04ZDg3LTMyZmZhYzIyYzU4NCIsInRudCI6Imh0dHBzOi8vZXhhbXBsZS5hdGxhc3NpYW4ubmV0L3dpa2kiLCJhdWQiOiJodHRwczovL29hdXRoLTItYXV0aG9yaXphdGlvbi1zZXJ2ZXIuc2VydmljZXMuYXRsYXNzaWFuLmNvbSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMDYwfQ.TF63wdoc7doplRyK-eUVs-VTVwCyWRSDTHUhQ5G0DHk',
    );
  });

  test('claims are exactly iss, sub, tnt, aud, iat, exp (no qsh); HMAC with the shared secret', () => {
    const token = createJwtBearerAssertion({ ...example, clock: createManualClock(1800000000 * 1000 + 750), ttlSeconds: 30 });
    assert.deepEqual(decodePart(token, 0), { typ: 'JWT', alg: 'HS256' });
    const payload = decodePart(token, 1) as Record<string, unknown>;
    assert.deepEqual(Object.keys(payload), ['iss', 'sub', 'tnt', 'aud', 'iat', 'exp']);
    assert.equal(payload.iat, 1800000000);
    assert.equal(payload.exp, 1800000030);
    const [h, p, s] = token.split('.');
    assert.equal(s, createHmac('sha256', 'test-shared-secret').update(`${h}.${p}`).digest('base64url'));
  });

  const bad: Array<[string, Partial<typeof example> & { ttlSeconds?: number }, new (...a: never[]) => Error]> = [
    ['ttl 61 (exp - iat must be <= 60)', { ttlSeconds: 61 }, RangeError],
    ['ttl 0', { ttlSeconds: 0 }, RangeError],
    ['empty accountId', { accountId: '' }, TypeError],
    ['empty oauthClientId', { oauthClientId: ' ' }, TypeError],
    ['empty secret', { sharedSecret: '' }, TypeError],
    ['empty tenant', { tenantBaseUrl: '' }, TypeError],
  ];
  for (const [name, overrides, type] of bad) {
    test(`refuses ${name}`, () => assert.throws(() => createJwtBearerAssertion({ ...example, ...overrides }), type));
  }
});

interface Captured {
  url: string;
  init: RequestInit | undefined;
}

function capture(response: () => Response = () => Response.json({})): { fetch: FetchLike; calls: Captured[] } {
  const calls: Captured[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, init });
      return response();
    },
  };
}

describe('jwtBearerTokenRequest', () => {
  test('POSTs a form body with Accept: application/json', async () => {
    const { fetch, calls } = capture();
    const signal = new AbortController().signal;
    await jwtBearerTokenRequest({ tokenEndpoint: TOKEN_ENDPOINT, assertion: 'a.b.c', scopes: ['read', 'Write'], fetch, signal });
    assert.equal(calls.length, 1);
    const call = calls[0];
    assert.ok(call);
    assert.equal(call.url, TOKEN_ENDPOINT);
    assert.equal(call.init?.method, 'POST');
    assert.deepEqual(call.init?.headers, { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
    assert.equal(call.init?.body, 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c&scope=READ%20WRITE');
    assert.equal(call.init?.signal, signal);
  });

  test('no scope parameter when scopes are empty or absent', async () => {
    for (const scopes of [undefined, [], ['  ']]) {
      const { fetch, calls } = capture();
      await jwtBearerTokenRequest({ tokenEndpoint: TOKEN_ENDPOINT, assertion: 'a.b.c', scopes, fetch });
      assert.equal(calls[0]?.init?.body, 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c');
    }
  });

  const scopeCases: Array<[string[], string[]]> = [
    [['read', 'write'], ['READ', 'WRITE']],
    [['READ WRITE'], ['READ', 'WRITE']],
    [['act_as_user', 'ACT_AS_USER'], ['ACT_AS_USER']],
    [[], []],
  ];
  for (const [input, expected] of scopeCases) {
    test(`normaliseConnectScopes(${JSON.stringify(input)})`, () => assert.deepEqual(normaliseConnectScopes(input), expected));
  }

  test('a network failure → ATLASSIAN_UNAVAILABLE, retryable, with cause, without the assertion', async () => {
    const assertion = 'secret-assertion.payload.sig';
    const failing: FetchLike = async () => {
      throw new TypeError('fetch failed');
    };
    await assert.rejects(jwtBearerTokenRequest({ tokenEndpoint: TOKEN_ENDPOINT, assertion, fetch: failing }), (e: unknown) => {
      assert.ok(e instanceof GatewayError);
      assert.equal(e.code, 'ATLASSIAN_UNAVAILABLE');
      assert.equal(e.details?.retryable, true);
      assert.ok(e.cause instanceof TypeError);
      assert.ok(!JSON.stringify(e).includes(assertion) && !e.message.includes(assertion));
      return true;
    });
  });

  test('a timeout → ATLASSIAN_TIMEOUT; the caller aborting propagates the AbortError', async () => {
    const timeout: FetchLike = async () => {
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    };
    await assert.rejects(jwtBearerTokenRequest({ tokenEndpoint: TOKEN_ENDPOINT, assertion: 'x', fetch: timeout }), (e: unknown) =>
      e instanceof GatewayError && e.code === 'ATLASSIAN_TIMEOUT',
    );
    const aborted: FetchLike = async () => {
      throw new DOMException('This operation was aborted', 'AbortError');
    };
    await assert.rejects(jwtBearerTokenRequest({ tokenEndpoint: TOKEN_ENDPOINT, assertion: 'x', fetch: aborted }), (e: unknown) =>
      e instanceof Error && !(e instanceof GatewayError) && e.name === 'AbortError',
    );
  });
});

describe('processJwtBearerTokenResponse', () => {
  const T0 = Date.UTC(2026, 2, 1);

  const ok: Array<[string, unknown, { expiresIn: number; scopes?: string[] }]> = [
    ['expires_in 900', { access_token: 'at-1', expires_in: 900, token_type: 'Bearer' }, { expiresIn: 900 }],
    ['expires_in 3600 (read, not hard-coded)', { access_token: 'at-1', expires_in: 3600, token_type: 'bearer' }, { expiresIn: 3600 }],
    ['expires_in as a string', { access_token: 'at-1', expires_in: '120' }, { expiresIn: 120 }],
    ['with scope', { access_token: 'at-1', expires_in: 60, scope: 'READ WRITE' }, { expiresIn: 60, scopes: ['READ', 'WRITE'] }],
  ];
  for (const [name, body, expected] of ok) {
    test(`200 ${name}`, async () => {
      const token = await processJwtBearerTokenResponse(Response.json(body), createManualClock(T0));
      const want: Record<string, unknown> = { accessToken: 'at-1', tokenType: 'Bearer', expiresAt: T0 + expected.expiresIn * 1000 };
      if (expected.scopes !== undefined) want.scopes = expected.scopes;
      assert.deepEqual(token, want);
    });
  }

  const failures: Array<{ name: string; response: () => Response; code: ErrorCode; details: Record<string, unknown> }> = [
    {
      name: '400 invalid_grant',
      response: () => Response.json({ error: 'invalid_grant', error_description: 'User not found' }, { status: 400 }),
      code: 'INVALID_GRANT',
      details: { status: 400, error: 'invalid_grant', description: 'User not found', reason: 'invalid_grant', retryable: false },
    },
    {
      name: '401 invalid_client',
      response: () => Response.json({ error: 'invalid_client' }, { status: 401 }),
      code: 'ATLASSIAN_ERROR',
      details: { status: 401, error: 'invalid_client', reason: 'unauthorized', retryable: false },
    },
    {
      name: '400 with a non-JSON body',
      response: () => new Response('bad request', { status: 400 }),
      code: 'ATLASSIAN_ERROR',
      details: { status: 400, reason: 'rejected', retryable: false },
    },
    {
      name: '503',
      response: () => new Response('<html>down</html>', { status: 503 }),
      code: 'ATLASSIAN_UNAVAILABLE',
      details: { status: 503, reason: 'server_error', retryable: true },
    },
    {
      name: '429 with Retry-After',
      response: () => new Response('{}', { status: 429, headers: { 'retry-after': '7' } }),
      code: 'ATLASSIAN_UNAVAILABLE',
      details: { status: 429, reason: 'rate_limited', retryable: true, retryAfterMs: 7000 },
    },
    {
      name: '200 with an HTML body (unparseable)',
      response: () => new Response('<html>proxy</html>', { status: 200 }),
      code: 'ATLASSIAN_UNAVAILABLE',
      details: { status: 200, reason: 'unparseable_body', retryable: true },
    },
    {
      name: '200 without access_token',
      response: () => Response.json({ expires_in: 900 }),
      code: 'ATLASSIAN_ERROR',
      details: { reason: 'malformed_response', fields: ['access_token'], retryable: false },
    },
    {
      name: '200 without expires_in',
      response: () => Response.json({ access_token: 'at' }),
      code: 'ATLASSIAN_ERROR',
      details: { reason: 'malformed_response', fields: ['expires_in'], retryable: false },
    },
    {
      name: '200 with token_type MAC',
      response: () => Response.json({ access_token: 'at', expires_in: 5, token_type: 'MAC' }),
      code: 'ATLASSIAN_ERROR',
      details: { reason: 'malformed_response', fields: ['token_type'], retryable: false },
    },
    {
      name: '200 with negative expires_in',
      response: () => Response.json({ access_token: 'at', expires_in: -5 }),
      code: 'ATLASSIAN_ERROR',
      details: { reason: 'malformed_response', fields: ['expires_in'], retryable: false },
    },
  ];
  for (const f of failures) {
    test(`${f.name} → ${f.code}`, async () => {
      await assert.rejects(processJwtBearerTokenResponse(f.response(), createManualClock(T0)), (e: unknown) => {
        assert.ok(e instanceof GatewayError);
        assert.equal(e.code, f.code);
        assert.deepEqual(e.details, f.details);
        return true;
      });
    });
  }

  test('an error never carries the assertion, the secret or the access token, even if the server echoes them', async () => {
    const secret = 'test-shared-secret';
    const assertion = createJwtBearerAssertion({
      oauthClientId: 'client',
      accountId: 'acc',
      tenantBaseUrl: 'https://t.atlassian.net/wiki',
      authServerUrl: AUTH_SERVER,
      sharedSecret: secret,
      clock: createManualClock(T0),
    });
    const echo = Response.json(
      { error: 'invalid_grant', error_description: `bad assertion ${assertion}` },
      { status: 400 },
    );
    const accessToken = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-access';
    const badOk = Response.json({ access_token: accessToken, expires_in: 'soon' });
    for (const response of [echo, badOk]) {
      await assert.rejects(processJwtBearerTokenResponse(response, createManualClock(T0)), (e: unknown) => {
        assert.ok(e instanceof GatewayError);
        const texts = [JSON.stringify(e), e.message, JSON.stringify(Object.entries(e))];
        for (const t of texts) {
          assert.ok(!t.includes(assertion), 'assertion leaked');
          assert.ok(!t.includes(secret), 'secret leaked');
          assert.ok(!t.includes(assertion.split('.')[2] ?? '§'), 'assertion signature leaked');
          assert.ok(!t.includes(accessToken), 'access token leaked');
        }
        return true;
      });
    }
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../clock.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import { accessibleResourcesRequest, processAccessibleResourcesResponse } from './accessible-resources.js';
import { buildAuthorizeUrl, type AuthorizeUrlInput } from './authorize-url.js';
import { meRequest, processMeResponse } from './me-request.js';
import { authorizationCodeRequest, processTokenResponse, refreshTokenRequest } from './oauth-token.js';
import type { FetchLike } from './send-request.js';

const T0 = Date.UTC(2026, 4, 1);
const STATE = 'st4te-0123456789abcdef';

function capture(response: () => Response = () => Response.json({})) {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, init });
    return response();
  };
  return { fetch, calls };
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, details?: Record<string, unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof GatewayError, `expected GatewayError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (details !== undefined) assert.deepEqual(e.details, details);
    return e;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

describe('buildAuthorizeUrl', () => {
  const base: AuthorizeUrlInput = {
    authorizeEndpoint: 'https://auth.atlassian.com/authorize',
    clientId: 'client-123',
    redirectUri: 'https://gw.example.com/oauth/callback',
    scopes: ['read:confluence-content.all', 'read:me'],
    state: STATE,
  };

  test('documented parameters, scope space-separated as %20, audience and prompt defaults', () => {
    assert.equal(
      buildAuthorizeUrl(base),
      'https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=client-123&scope=read%3Aconfluence-content.all%20read%3Ame' +
        '&redirect_uri=https%3A%2F%2Fgw.example.com%2Foauth%2Fcallback&state=st4te-0123456789abcdef&response_type=code&prompt=consent',
    );
  });

  test('offline_access is added once when asked', () => {
    const url = new URL(buildAuthorizeUrl({ ...base, offlineAccess: true }));
    assert.equal(url.searchParams.get('scope'), 'read:confluence-content.all read:me offline_access');
    const again = new URL(buildAuthorizeUrl({ ...base, scopes: ['offline_access', 'read:me'], offlineAccess: true }));
    assert.equal(again.searchParams.get('scope'), 'offline_access read:me');
    const without = new URL(buildAuthorizeUrl(base));
    assert.ok(!(without.searchParams.get('scope') ?? '').includes('offline_access'));
  });

  test('an endpoint with its own query keeps it (sandbox style)', () => {
    const url = new URL(buildAuthorizeUrl({ ...base, authorizeEndpoint: 'http://127.0.0.1:9999/authorize?tenant=a' }));
    assert.equal(url.searchParams.get('tenant'), 'a');
    assert.equal(url.searchParams.get('client_id'), 'client-123');
    assert.equal(url.searchParams.get('state'), STATE);
  });

  const bad: Array<[string, Partial<AuthorizeUrlInput>]> = [
    ['short state', { state: 'abc' }],
    ['empty client id', { clientId: '' }],
    ['no scopes', { scopes: [] }],
    ['a scope with a space', { scopes: ['read:me write:x'] }],
    ['a non-URL endpoint', { authorizeEndpoint: 'auth.atlassian.com/authorize' }],
    ['a javascript: endpoint', { authorizeEndpoint: 'javascript:alert(1)' }],
  ];
  for (const [name, overrides] of bad) {
    test(`refuses ${name}`, () => assert.throws(() => buildAuthorizeUrl({ ...base, ...overrides }), TypeError));
  }
});

describe('authorizationCodeRequest / refreshTokenRequest', () => {
  test('authorization code: JSON body exactly per §5.2', async () => {
    const { fetch, calls } = capture();
    await authorizationCodeRequest({
      tokenEndpoint: 'https://auth.atlassian.com/oauth/token',
      clientId: 'cid',
      clientSecret: 'csecret',
      code: 'the-code',
      redirectUri: 'https://gw/cb',
      fetch,
    });
    const call = calls[0];
    assert.ok(call);
    assert.equal(call.url, 'https://auth.atlassian.com/oauth/token');
    assert.equal(call.init?.method, 'POST');
    assert.deepEqual(call.init?.headers, { 'content-type': 'application/json', accept: 'application/json' });
    assert.deepEqual(JSON.parse(String(call.init?.body)), {
      grant_type: 'authorization_code',
      client_id: 'cid',
      client_secret: 'csecret',
      code: 'the-code',
      redirect_uri: 'https://gw/cb',
    });
  });

  test('refresh: JSON body exactly per §5.2, signal passed through', async () => {
    const { fetch, calls } = capture();
    const signal = new AbortController().signal;
    await refreshTokenRequest({ tokenEndpoint: 'https://t/oauth/token', clientId: 'cid', clientSecret: 'cs', refreshToken: 'rt-1', fetch, signal });
    assert.deepEqual(JSON.parse(String(calls[0]?.init?.body)), {
      grant_type: 'refresh_token',
      client_id: 'cid',
      client_secret: 'cs',
      refresh_token: 'rt-1',
    });
    assert.equal(calls[0]?.init?.signal, signal);
  });

  test('a network failure does not leak the client secret or refresh token', async () => {
    const failing: FetchLike = async () => {
      throw new TypeError('fetch failed');
    };
    const err = await rejectsWith(
      refreshTokenRequest({ tokenEndpoint: 'https://t', clientId: 'c', clientSecret: 'very-secret', refreshToken: 'rt-secret', fetch: failing }),
      'ATLASSIAN_UNAVAILABLE',
    );
    assert.ok(!JSON.stringify(err).includes('very-secret') && !JSON.stringify(err).includes('rt-secret'));
  });
});

describe('processTokenResponse', () => {
  test('200 with rotation: new refresh token, scopes, expiry from expires_in', async () => {
    const out = await processTokenResponse(
      Response.json({ access_token: 'at', refresh_token: 'rt-2', expires_in: 3600, scope: 'read:me offline_access', token_type: 'Bearer' }),
      createManualClock(T0),
    );
    assert.deepEqual(out, {
      accessToken: 'at',
      refreshToken: 'rt-2',
      tokenType: 'Bearer',
      expiresAt: T0 + 3_600_000,
      scopes: ['read:me', 'offline_access'],
    });
  });

  test('200 without refresh token or scope', async () => {
    const out = await processTokenResponse(Response.json({ access_token: 'at', expires_in: 60 }), createManualClock(T0));
    assert.deepEqual(out, { accessToken: 'at', refreshToken: undefined, tokenType: 'Bearer', expiresAt: T0 + 60_000, scopes: undefined });
  });

  const failures: Array<{ name: string; response: () => Response; code: ErrorCode; details: Record<string, unknown> }> = [
    {
      name: '403 "Unknown or invalid refresh token." (reuse after leeway)',
      response: () => Response.json({ error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' }, { status: 403 }),
      code: 'INVALID_GRANT',
      details: { status: 403, error: 'invalid_grant', description: 'Unknown or invalid refresh token.', reason: 'refresh_token_invalid', retryable: false },
    },
    {
      name: '400 "Token has been expired or revoked."',
      response: () => Response.json({ error: 'invalid_grant', error_description: 'Token has been expired or revoked.' }, { status: 400 }),
      code: 'INVALID_GRANT',
      details: { status: 400, error: 'invalid_grant', description: 'Token has been expired or revoked.', reason: 'token_expired_or_revoked', retryable: false },
    },
    {
      name: '400 invalid_grant without description',
      response: () => Response.json({ error: 'invalid_grant' }, { status: 400 }),
      code: 'INVALID_GRANT',
      details: { status: 400, error: 'invalid_grant', reason: 'invalid_grant', retryable: false },
    },
    {
      name: '403 access_denied (wrong client secret)',
      response: () => Response.json({ error: 'access_denied', error_description: 'Unauthorized' }, { status: 403 }),
      code: 'ATLASSIAN_ERROR',
      details: { status: 403, error: 'access_denied', description: 'Unauthorized', reason: 'forbidden', retryable: false },
    },
    {
      name: '502',
      response: () => new Response('bad gateway', { status: 502 }),
      code: 'ATLASSIAN_UNAVAILABLE',
      details: { status: 502, reason: 'server_error', retryable: true },
    },
    {
      name: '200 with a truncated JSON body',
      response: () => new Response('{"access_token":"at","exp', { status: 200 }),
      code: 'ATLASSIAN_UNAVAILABLE',
      details: { status: 200, reason: 'unparseable_body', retryable: true },
    },
  ];
  for (const f of failures) {
    test(`${f.name} → ${f.code}`, async () => {
      await rejectsWith(processTokenResponse(f.response(), createManualClock(T0)), f.code, f.details);
    });
  }
});

describe('/me', () => {
  test('meRequest sends the bearer token with GET', async () => {
    const { fetch, calls } = capture();
    await meRequest({ meUrl: 'https://api.atlassian.com/me', accessToken: 'at-me', fetch });
    assert.equal(calls[0]?.url, 'https://api.atlassian.com/me');
    assert.equal(calls[0]?.init?.method, 'GET');
    assert.deepEqual(calls[0]?.init?.headers, { authorization: 'Bearer at-me', accept: 'application/json' });
  });

  test('the documented fixture converts to camelCase', async () => {
    const me = await processMeResponse(
      Response.json({
        account_type: 'atlassian',
        account_id: '112233aa-bb11-cc22-33dd-445566abcabc',
        email: 'mia@example.com',
        name: 'Mia Krystof',
        picture: 'https://avatar.example/p',
        account_status: 'active',
        nickname: 'mkrystof',
        zoneinfo: 'Australia/Sydney',
        locale: 'en-US',
        email_verified: true,
        extended_profile: { job_title: 'Designer' },
      }),
      createManualClock(T0),
    );
    assert.deepEqual(me, {
      accountId: '112233aa-bb11-cc22-33dd-445566abcabc',
      accountType: 'atlassian',
      accountStatus: 'active',
      email: 'mia@example.com',
      emailVerified: true,
      name: 'Mia Krystof',
      nickname: 'mkrystof',
      picture: 'https://avatar.example/p',
      locale: 'en-US',
      zoneinfo: 'Australia/Sydney',
    });
  });

  test('privacy: null or empty email is absent; only account_id is required', async () => {
    assert.deepEqual(await processMeResponse(Response.json({ account_id: 'a1', email: null, name: '' })), { accountId: 'a1' });
    assert.deepEqual(await processMeResponse(Response.json({ account_id: 'a1', email: '', email_verified: false })), {
      accountId: 'a1',
      emailVerified: false,
    });
  });

  test('missing account_id → ATLASSIAN_ERROR malformed_response; 401 → ATLASSIAN_ERROR unauthorized', async () => {
    await rejectsWith(processMeResponse(Response.json({ email: 'x@y' })), 'ATLASSIAN_ERROR', {
      reason: 'malformed_response',
      fields: ['account_id'],
      retryable: false,
    });
    await rejectsWith(processMeResponse(Response.json({ code: 401, message: 'Unauthorized' }, { status: 401 })), 'ATLASSIAN_ERROR', {
      status: 401,
      reason: 'unauthorized',
      retryable: false,
    });
  });
});

describe('accessible-resources', () => {
  test('request sends the bearer token to the given URL', async () => {
    const { fetch, calls } = capture(() => Response.json([]));
    await accessibleResourcesRequest({ accessibleResourcesUrl: 'https://api.atlassian.com/oauth/token/accessible-resources', accessToken: 'at-ar', fetch });
    assert.equal(calls[0]?.url, 'https://api.atlassian.com/oauth/token/accessible-resources');
    assert.deepEqual(calls[0]?.init?.headers, { authorization: 'Bearer at-ar', accept: 'application/json' });
  });

  test('the documented example converts; id becomes cloudId', async () => {
    const out = await processAccessibleResourcesResponse(
      Response.json([
        {
          id: '1324a887-45db-1bf4-1e99-ef0ff456d421',
          name: 'Site name',
          url: 'https://your-domain.atlassian.net',
          scopes: ['write:jira-work', 'read:jira-user'],
          avatarUrl: 'https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/flag.png',
        },
        { id: 'c2', name: 'Other', url: 'https://other.atlassian.net' },
      ]),
      createManualClock(T0),
    );
    assert.deepEqual(out, [
      {
        cloudId: '1324a887-45db-1bf4-1e99-ef0ff456d421',
        url: 'https://your-domain.atlassian.net',
        name: 'Site name',
        scopes: ['write:jira-work', 'read:jira-user'],
        avatarUrl: 'https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/flag.png',
      },
      { cloudId: 'c2', url: 'https://other.atlassian.net', name: 'Other', scopes: [] },
    ]);
  });

  test('a non-array body or an entry without id → ATLASSIAN_ERROR', async () => {
    await rejectsWith(processAccessibleResourcesResponse(Response.json({ id: 'x' })), 'ATLASSIAN_ERROR');
    const err = await rejectsWith(processAccessibleResourcesResponse(Response.json([{ name: 'n', url: 'u' }])), 'ATLASSIAN_ERROR');
    assert.deepEqual(err.details?.fields, ['0.id']);
  });
});

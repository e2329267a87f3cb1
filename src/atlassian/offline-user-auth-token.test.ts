import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { classifyRefusal, confluenceContextId, FORGE_GRAPHQL_URL, offlineUserAuthTokenRequest, OFFLINE_USER_AUTH_TOKEN_QUERY, processOfflineUserAuthTokenResponse } from './offline-user-auth-token.js';

const CLOUD = 'd0d52620-3203-4cfa-8db5-f2587155f0dd';
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const clock = createManualClock(1_700_000_000_000);
/** The error a call ends with; a token instead fails the test. */
async function failure(p: Promise<unknown>): Promise<GatewayError> {
  const e = await p.then(
    () => assert.fail('expected an error, got a token'),
    (x: unknown) => x,
  );
  assert.ok(e instanceof GatewayError, String(e));
  return e;
}
const fails = (code: string, reason: string) => (e: unknown) => e instanceof GatewayError && e.code === code && e.details?.['reason'] === reason;

describe('offlineUserAuthToken request/process', () => {
  test('the request is the documented mutation with the system token and one context ARI', async () => {
    let seen: { url: string; init: RequestInit } | null = null;
    await offlineUserAuthTokenRequest({ graphqlUrl: 'https://api.atlassian.com/graphql', systemToken: 'sys', cloudId: CLOUD, accountId: 'acc-1', contextIdForm: 'workspace', fetch: async (url, init) => ((seen = { url, init: init! }), json({})) });
    assert.equal(seen!.url, 'https://api.atlassian.com/graphql');
    assert.equal((seen!.init.headers as Record<string, string>)['authorization'], 'Bearer sys');
    assert.deepEqual(JSON.parse(String(seen!.init.body)), { query: OFFLINE_USER_AUTH_TOKEN_QUERY, variables: { input: { contextIds: [`ari:cloud:confluence:${CLOUD}:workspace/${CLOUD}`], userId: 'acc-1' } } });
    assert.equal(confluenceContextId(CLOUD, 'site'), `ari:cloud:confluence::site/${CLOUD}`);
    // A POST of JSON that asks for JSON and never follows a redirect (the system token must not travel on).
    assert.equal(seen!.init.method, 'POST');
    assert.deepEqual(seen!.init.headers, { authorization: 'Bearer sys', 'content-type': 'application/json', accept: 'application/json' });
    assert.equal(seen!.init.redirect, 'error');
  });

  test('the endpoint and the query are the documented ones, word for word (§10.6)', () => {
    assert.equal(FORGE_GRAPHQL_URL, 'https://api.atlassian.com/graphql');
    assert.equal(
      OFFLINE_USER_AUTH_TOKEN_QUERY,
      'mutation forge_remote_offlineUserAuthToken($input: OfflineUserAuthTokenInput!) { offlineUserAuthToken(input: $input) { success errors { message } authToken { token ttl } } }',
    );
  });

  test('a fetch that fails is ATLASSIAN_UNAVAILABLE naming the offline token request', async () => {
    const e = await failure(offlineUserAuthTokenRequest({ graphqlUrl: FORGE_GRAPHQL_URL, systemToken: 'sys', cloudId: CLOUD, accountId: 'acc-1', contextIdForm: 'site', fetch: async () => Promise.reject(new TypeError('fetch failed')) }));
    assert.equal(e.code, 'ATLASSIAN_UNAVAILABLE');
    assert.match(e.message, /^Forge offline user token request/);
  });

  test('the site form of the context ARI goes out as asked, and the caller\'s abort signal reaches the fetch', async () => {
    let seen: RequestInit | undefined;
    const controller = new AbortController();
    await offlineUserAuthTokenRequest({ graphqlUrl: 'https://api.atlassian.com/graphql', systemToken: 'sys', cloudId: CLOUD, accountId: 'acc-1', contextIdForm: 'site', signal: controller.signal, fetch: async (_url, init) => ((seen = init), json({})) });
    assert.deepEqual(JSON.parse(String(seen!.body)).variables.input.contextIds, [`ari:cloud:confluence::site/${CLOUD}`]);
    assert.equal(seen!.signal, controller.signal);
  });

  test('the documented answer becomes a token with expiresAt = now + ttl', async () => {
    const t = await processOfflineUserAuthTokenResponse(json({ data: { offlineUserAuthToken: { success: true, errors: null, authToken: { token: 'offline-bearer', ttl: 3600 } } } }), clock);
    assert.deepEqual(t, { token: 'offline-bearer', ttlSeconds: 3600, expiresAt: clock.now() + 3_600_000 });
  });

  test('refusals, GraphQL errors, HTTP errors and odd shapes each give their error, never the token', async () => {
    const refusal = (message: string) => json({ data: { offlineUserAuthToken: { success: false, errors: [{ message }], authToken: null } } });
    await assert.rejects(processOfflineUserAuthTokenResponse(refusal('Could not load permissions for app user in the provided contextIds'), clock), fails('IMPERSONATION_REFUSED', 'context_mismatch'));
    await assert.rejects(processOfflineUserAuthTokenResponse(refusal('something new'), clock), fails('IMPERSONATION_REFUSED', 'refused'));
    await assert.rejects(processOfflineUserAuthTokenResponse(json({ data: null, errors: [{ message: 'x', extensions: { statusCode: 401 } }] }), clock), fails('IMPERSONATION_REFUSED', 'service_account'));
    await assert.rejects(processOfflineUserAuthTokenResponse(json({ data: null, errors: [{ message: 'slow down', extensions: { statusCode: 429 } }] }), clock), fails('ATLASSIAN_UNAVAILABLE', 'rate_limited'));
    await assert.rejects(processOfflineUserAuthTokenResponse(json({ data: null, errors: [{ message: 'boom', extensions: { statusCode: 503 } }] }), clock), fails('ATLASSIAN_UNAVAILABLE', 'server_error'));
    await assert.rejects(processOfflineUserAuthTokenResponse(json({ errors: [] }, 429, { 'retry-after': '7' }), clock), (e: unknown) => fails('ATLASSIAN_UNAVAILABLE', 'rate_limited')(e) && (e as GatewayError).details?.['retryAfterMs'] === 7000);
    await assert.rejects(processOfflineUserAuthTokenResponse(json({ message: 'Unauthorized' }, 401), clock), fails('ATLASSIAN_ERROR', 'unauthorized'));
    await assert.rejects(processOfflineUserAuthTokenResponse(json({ data: { offlineUserAuthToken: { success: true, authToken: { token: '', ttl: 0 } } } }), clock), fails('ATLASSIAN_ERROR', 'malformed_response'));
    await assert.rejects(processOfflineUserAuthTokenResponse(json({ data: {} }), clock), fails('ATLASSIAN_ERROR', 'malformed_response'));
    // Each field of the token is required on its own: an empty token, or a ttl that is not positive.
    await assert.rejects(processOfflineUserAuthTokenResponse(json({ data: { offlineUserAuthToken: { success: true, authToken: { token: '', ttl: 3600 } } } }), clock), fails('ATLASSIAN_ERROR', 'malformed_response'));
    await assert.rejects(processOfflineUserAuthTokenResponse(json({ data: { offlineUserAuthToken: { success: true, authToken: { token: 'x', ttl: 0 } } } }), clock), fails('ATLASSIAN_ERROR', 'malformed_response'));
    // success without a token is no token.
    await assert.rejects(processOfflineUserAuthTokenResponse(json({ data: { offlineUserAuthToken: { success: true, errors: null, authToken: null } } }), clock), fails('ATLASSIAN_ERROR', 'malformed_response'));
    const leaked = await processOfflineUserAuthTokenResponse(refusal('echo eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl'), clock).catch((e: GatewayError) => e);
    assert.ok(leaked instanceof GatewayError);
    assert.doesNotMatch(JSON.stringify(leaked.details), /eyJ/, 'a token echoed in a message never reaches the error');
  });

  test('a refusal is never a token, even when the answer carries one, and says every message Forge gave', async () => {
    const refusal = (errors: unknown) => json({ data: { offlineUserAuthToken: { success: false, errors, authToken: { token: 'should-not-be-used', ttl: 3600 } } } });
    const e = await failure(processOfflineUserAuthTokenResponse(refusal([{ message: 'User x is deactivated' }, { message: 'and more' }]), clock));
    assert.equal(e.code, 'IMPERSONATION_REFUSED');
    assert.deepEqual(e.details, { reason: 'user_inactive', description: 'User x is deactivated; and more', retryable: false });
    assert.match(e.message, /refused to impersonate the user \(user_inactive\)/);
    // No errors at all: still a refusal, with nothing to describe.
    const bare = await failure(processOfflineUserAuthTokenResponse(refusal(null), clock));
    assert.deepEqual(bare.details, { reason: 'refused', description: '', retryable: false });
    const emptyList = await failure(processOfflineUserAuthTokenResponse(refusal([]), clock));
    assert.deepEqual(emptyList.details, { reason: 'refused', description: '', retryable: false });
  });

  test('GraphQL errors without a token: their status decides, else their message; 500 is a server error too', async () => {
    const graphqlError = (error: unknown) => json({ data: { offlineUserAuthToken: null }, errors: [error] });
    const err = (error: unknown) => failure(processOfflineUserAuthTokenResponse(graphqlError(error), clock));
    const e500 = await err({ message: 'oops', extensions: { statusCode: 500 } });
    assert.deepEqual([e500.code, e500.details], ['ATLASSIAN_UNAVAILABLE', { reason: 'server_error', retryable: true }]);
    assert.match(e500.message, /^Forge offline user token request: Atlassian answered 500/);
    const e429 = await err({ message: 'slow', extensions: { statusCode: 429 } });
    assert.deepEqual([e429.code, e429.details], ['ATLASSIAN_UNAVAILABLE', { reason: 'rate_limited', retryable: true }]);
    const e401 = await err({ message: 'Service accounts are not allowed', extensions: { statusCode: 401 } });
    assert.deepEqual([e401.code, e401.details], ['IMPERSONATION_REFUSED', { reason: 'service_account', description: 'Service accounts are not allowed', retryable: false }]);
    const silent401 = await err({ extensions: { statusCode: 401 } });
    assert.deepEqual([silent401.code, silent401.details], ['IMPERSONATION_REFUSED', { reason: 'service_account', description: '', retryable: false }]);
    const e400 = await err({ message: 'User does not have access to the app', extensions: { statusCode: 400 } });
    assert.deepEqual([e400.code, e400.details], ['IMPERSONATION_REFUSED', { reason: 'no_app_access', description: 'User does not have access to the app', retryable: false }]);
    const plain = await err({ message: 'User x is not active' });
    assert.deepEqual([plain.code, plain.details], ['IMPERSONATION_REFUSED', { reason: 'user_inactive', description: 'User x is not active', retryable: false }]);
    const silent = await err({});
    assert.deepEqual([silent.code, silent.details], ['IMPERSONATION_REFUSED', { reason: 'refused', description: '', retryable: false }]);
    const nothing = await failure(processOfflineUserAuthTokenResponse(json({ data: null }), clock));
    assert.deepEqual([nothing.code, nothing.details], ['ATLASSIAN_ERROR', { reason: 'malformed_response', retryable: false }]);
    assert.match(nothing.message, /^Forge offline user token request: the response has neither a token nor an error/);
    // Errors of the wrong shape are a malformed answer, not a guess: a message that is no string, a status that is no number.
    const shape = async (body: unknown) => (await failure(processOfflineUserAuthTokenResponse(json(body), clock))).details?.['reason'];
    assert.equal(await shape({ data: { offlineUserAuthToken: { success: false, errors: [{ message: 42 }], authToken: null } } }), 'malformed_response');
    assert.equal(await shape({ data: null, errors: [{ message: 'x', extensions: { statusCode: '500' } }] }), 'malformed_response');
    assert.equal(await shape({ data: null, errors: [{ message: 7 }] }), 'malformed_response');
  });

  test('a fractional ttl gives whole milliseconds', async () => {
    const t = await processOfflineUserAuthTokenResponse(json({ data: { offlineUserAuthToken: { success: true, authToken: { token: 't', ttl: 1.0005 } } } }), clock);
    assert.deepEqual([t.ttlSeconds, t.expiresAt], [1.0005, clock.now() + 1000]);
  });

  test('classifyRefusal reads the sandbox\'s and Atlassian\'s messages', () => {
    assert.deepEqual(
      ['User x is deactivated and cannot be impersonated', 'User x does not have access to the app', 'The app declares no scopes with allowImpersonation: true', 'Service accounts cannot be impersonated'].map(classifyRefusal),
      ['user_inactive', 'no_app_access', 'no_impersonation_scope', 'service_account'],
    );
    // The other wordings each pattern is there for, in any case.
    assert.deepEqual(
      ['The user is INACTIVE', 'account not active', 'User has no access', 'requires an impersonation scope', 'Cannot impersonate an app user', 'Invalid PROVIDED CONTEXTIDS'].map(classifyRefusal),
      ['user_inactive', 'user_inactive', 'no_app_access', 'no_impersonation_scope', 'service_account', 'context_mismatch'],
    );
  });
});

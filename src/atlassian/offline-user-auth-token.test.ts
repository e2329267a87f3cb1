import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { classifyRefusal, confluenceContextId, offlineUserAuthTokenRequest, OFFLINE_USER_AUTH_TOKEN_QUERY, processOfflineUserAuthTokenResponse } from './offline-user-auth-token.js';

const CLOUD = 'd0d52620-3203-4cfa-8db5-f2587155f0dd';
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const clock = createManualClock(1_700_000_000_000);
const fails = (code: string, reason: string) => (e: unknown) => e instanceof GatewayError && e.code === code && e.details?.['reason'] === reason;

describe('offlineUserAuthToken request/process', () => {
  test('the request is the documented mutation with the system token and one context ARI', async () => {
    let seen: { url: string; init: RequestInit } | null = null;
    await offlineUserAuthTokenRequest({ graphqlUrl: 'https://api.atlassian.com/graphql', systemToken: 'sys', cloudId: CLOUD, accountId: 'acc-1', contextIdForm: 'workspace', fetch: async (url, init) => ((seen = { url, init: init! }), json({})) });
    assert.equal(seen!.url, 'https://api.atlassian.com/graphql');
    assert.equal((seen!.init.headers as Record<string, string>)['authorization'], 'Bearer sys');
    assert.deepEqual(JSON.parse(String(seen!.init.body)), { query: OFFLINE_USER_AUTH_TOKEN_QUERY, variables: { input: { contextIds: [`ari:cloud:confluence:${CLOUD}:workspace/${CLOUD}`], userId: 'acc-1' } } });
    assert.equal(confluenceContextId(CLOUD, 'site'), `ari:cloud:confluence::site/${CLOUD}`);
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
    const leaked = await processOfflineUserAuthTokenResponse(refusal('echo eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl'), clock).catch((e: GatewayError) => e);
    assert.ok(leaked instanceof GatewayError);
    assert.doesNotMatch(JSON.stringify(leaked.details), /eyJ/, 'a token echoed in a message never reaches the error');
  });

  test('classifyRefusal reads the sandbox\'s and Atlassian\'s messages', () => {
    assert.deepEqual(
      ['User x is deactivated and cannot be impersonated', 'User x does not have access to the app', 'The app declares no scopes with allowImpersonation: true', 'Service accounts cannot be impersonated'].map(classifyRefusal),
      ['user_inactive', 'no_app_access', 'no_impersonation_scope', 'service_account'],
    );
  });
});

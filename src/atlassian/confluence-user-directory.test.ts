import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGatewayError } from '../errors.js';
import { emailBulkRequest, processEmailBulkResponse, processSearchSiteUsersResponse, searchSiteUsersRequest } from './confluence-user-directory.js';

const clock = { now: () => Date.UTC(2026, 11, 1) };
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

test('the user search request: type=user, start and limit, the system token as Bearer under the API base', async () => {
  const seen: { url: string; auth: string | null }[] = [];
  const fetchLike = async (url: string, init?: RequestInit) => {
    seen.push({ url, auth: new Headers(init?.headers).get('authorization') });
    return json({ results: [] });
  };
  await searchSiteUsersRequest({ apiBase: 'https://api.example/ex/confluence/c1/wiki/', systemToken: 'sys', start: 200, limit: 50, fetch: fetchLike });
  const u = new URL(seen[0]!.url);
  assert.equal(u.origin + u.pathname, 'https://api.example/ex/confluence/c1/wiki/rest/api/search/user');
  assert.deepEqual([u.searchParams.get('cql'), u.searchParams.get('start'), u.searchParams.get('limit')], ['type=user', '200', '50']);
  assert.equal(seen[0]!.auth, 'Bearer sys');
  await emailBulkRequest({ apiBase: 'https://api.example/wiki', systemToken: 'sys', accountIds: ['a:1', 'b 2'], fetch: fetchLike });
  assert.equal(seen[1]!.url, 'https://api.example/wiki/rest/api/user/email/bulk?accountId=a%3A1&accountId=b%202');
  await assert.rejects(emailBulkRequest({ apiBase: 'x', systemToken: 's', accountIds: [], fetch: fetchLike }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'));
  await assert.rejects(emailBulkRequest({ apiBase: 'x', systemToken: 's', accountIds: Array.from({ length: 101 }, (_, i) => `a${i}`), fetch: fetchLike }), (e: unknown) => isGatewayError(e, 'VALIDATION_FAILED'));
});

test('a search page: users with their type, the next start only while _links.next says more exist', async () => {
  const page = { results: [{ user: { accountId: 'a1', accountType: 'atlassian' } }, { user: { accountId: 'b1', accountType: 'app' } }, { title: 'no user' }], start: 100, size: 3, _links: { next: '/rest/api/search/user?start=103' } };
  assert.deepEqual(await processSearchSiteUsersResponse(json(page), 100, clock), { users: [{ accountId: 'a1', accountType: 'atlassian' }, { accountId: 'b1', accountType: 'app' }], nextStart: 103 });
  assert.equal((await processSearchSiteUsersResponse(json({ ...page, _links: {} }), 100, clock)).nextStart, null, 'no next link: the last page');
  assert.equal((await processSearchSiteUsersResponse(json({ results: [], size: 0, _links: { next: '/x' } }), 0, clock)).nextStart, null, 'an empty page never loops');
  await assert.rejects(processSearchSiteUsersResponse(json({ nope: 1 }), 0, clock), (e: unknown) => isGatewayError(e, 'ATLASSIAN_ERROR') && e.details?.['reason'] === 'malformed_response');
  await assert.rejects(processSearchSiteUsersResponse(json({}, 401), 0, clock), (e: unknown) => isGatewayError(e, 'ATLASSIAN_ERROR') && e.details?.['reason'] === 'unauthorized');
});

test('the email API: emails (empty ones as null), and each refusal with its reason', async () => {
  assert.deepEqual(await processEmailBulkResponse(json([{ accountId: 'a1', email: 'A@x.example' }, { accountId: 'b1', email: '' }, { accountId: 'c1' }]), clock), [
    { accountId: 'a1', email: 'A@x.example' },
    { accountId: 'b1', email: null },
    { accountId: 'c1', email: null },
  ]);
  for (const [status, reason] of [[400, 'not_approved'], [403, 'not_approved'], [501, 'not_enabled'], [401, 'unauthorized']] as const) {
    await assert.rejects(processEmailBulkResponse(json({ message: 'no' }, status), clock), (e: unknown) => isGatewayError(e, 'ATLASSIAN_ERROR') && e.details?.['reason'] === reason && e.details?.['status'] === status);
  }
  await assert.rejects(processEmailBulkResponse(json({}, 503), clock), (e: unknown) => isGatewayError(e, 'ATLASSIAN_UNAVAILABLE') && e.details?.['retryable'] === true);
  await assert.rejects(processEmailBulkResponse(json({ accountId: 'a' }), clock), (e: unknown) => isGatewayError(e, 'ATLASSIAN_ERROR'));
});

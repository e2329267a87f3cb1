import { z } from 'zod';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { errorFromResponse, malformedResponse, readJsonResponse } from './atlassian-response.js';
import { sendRequest, type FetchLike } from './send-request.js';

/**
 * The two Confluence calls a Forge app makes as itself to know the site's users by email (protocol doc
 * §6.1, §6.2; part 2 §10.5): the user search (`GET /wiki/rest/api/search/user?cql=type=user`, `start` +
 * `limit`, `_links.next` while more exist; Atlassian documents "up to 10k users" for this query) and the
 * email API (`GET /wiki/rest/api/user/email/bulk?accountId=a&accountId=b`), which answers Forge apps only
 * through the app system token ("asApp") and returns emails whatever the user's profile visibility.
 * Both are sent with `Authorization: Bearer <system token>` under the installation's `apiBaseUrl` + `/wiki`.
 */

export interface DirectoryRequestInput {
  /** `${apiBaseUrl}/wiki` of the installation. */
  apiBase: string;
  systemToken: string;
  fetch: FetchLike;
  signal?: AbortSignal | undefined;
}

export interface SiteUser {
  accountId: string;
  /** `atlassian` for people; `app` for app users, `customer` for JSM customers (v2 adds more). */
  accountType: string;
}

export interface SiteUserPage {
  users: SiteUser[];
  /** The `start` of the next page, or null when this was the last one. */
  nextStart: number | null;
}

export const USER_SEARCH_PAGE = 100;
/** Account IDs per email/bulk call: what the Connect resolver sends too; the API documents no maximum. */
export const EMAIL_BULK_MAX = 100;

const get = (input: DirectoryRequestInput, path: string, what: string): Promise<Response> => {
  const init: RequestInit = { method: 'GET', headers: { authorization: `Bearer ${input.systemToken}`, accept: 'application/json' }, redirect: 'error' };
  if (input.signal !== undefined) init.signal = input.signal;
  return sendRequest(input.fetch, `${input.apiBase.replace(/\/+$/, '')}${path}`, init, what);
};

export function searchSiteUsersRequest(input: DirectoryRequestInput & { start: number; limit?: number }): Promise<Response> {
  const q = new URLSearchParams({ cql: 'type=user', start: String(input.start), limit: String(input.limit ?? USER_SEARCH_PAGE), sitePermissionTypeFilter: 'all' });
  return get(input, `/rest/api/search/user?${q.toString()}`, 'Confluence user search');
}

const searchBody = z.object({
  results: z.array(z.object({ user: z.object({ accountId: z.string().min(1).max(128), accountType: z.string().nullish() }).passthrough().nullish() }).passthrough()),
  start: z.number().int().nonnegative().optional(),
  size: z.number().int().nonnegative().optional(),
  _links: z.object({ next: z.string().optional() }).passthrough().optional(),
});

export async function processSearchSiteUsersResponse(response: Response, start: number, clock: Clock): Promise<SiteUserPage> {
  const parsed = searchBody.safeParse(await readJsonResponse(response, 'Confluence user search', clock));
  if (!parsed.success) throw malformedResponse('Confluence user search', parsed.error);
  const users: SiteUser[] = [];
  for (const r of parsed.data.results) if (r.user) users.push({ accountId: r.user.accountId, accountType: r.user.accountType ?? '' });
  const size = parsed.data.size ?? parsed.data.results.length;
  // `_links.next` says more exist (§6.4); the next page starts after what this one held.
  const more = parsed.data._links?.next !== undefined && size > 0;
  return { users, nextStart: more ? (parsed.data.start ?? start) + size : null };
}

export async function emailBulkRequest(input: DirectoryRequestInput & { accountIds: readonly string[] }): Promise<Response> {
  if (input.accountIds.length === 0 || input.accountIds.length > EMAIL_BULK_MAX) {
    throw new GatewayError('VALIDATION_FAILED', `Ask the email API about 1 to ${EMAIL_BULK_MAX} accounts at a time.`);
  }
  const q = input.accountIds.map((id) => `accountId=${encodeURIComponent(id)}`).join('&');
  return get(input, `/rest/api/user/email/bulk?${q}`, 'Confluence email API');
}

/** Why the email API would not answer (§6.1): 400 "not approved" (a user token, or no email scope), 501 "not enabled". */
export type EmailApiRefusal = 'not_approved' | 'not_enabled' | 'unauthorized';

const emailBody = z.array(z.object({ accountId: z.string().min(1).max(128), email: z.string().nullish() }).passthrough());

/**
 * Accounts and their emails; accounts the API leaves out (unavailable) are simply absent. A refusal is
 * ATLASSIAN_ERROR with `details.reason` one of EmailApiRefusal and a message that says what to fix.
 */
export async function processEmailBulkResponse(response: Response, clock: Clock): Promise<{ accountId: string; email: string | null }[]> {
  if (response.status === 400 || response.status === 501 || response.status === 401 || response.status === 403) {
    const status = response.status;
    await errorFromResponse(response, 'Confluence email API', clock);
    const reason: EmailApiRefusal = status === 501 ? 'not_enabled' : status === 401 ? 'unauthorized' : 'not_approved';
    const message =
      reason === 'not_enabled'
        ? 'The email API is not enabled on this site (HTTP 501).'
        : reason === 'unauthorized'
          ? 'The email API refused the app system token (HTTP 401).'
          : `The email API refused the app (HTTP ${status}): a Forge app needs the email scope and must call as itself (the app system token).`;
    throw new GatewayError('ATLASSIAN_ERROR', message, { details: { status, reason, retryable: false } });
  }
  const parsed = emailBody.safeParse(await readJsonResponse(response, 'Confluence email API', clock));
  if (!parsed.success) throw malformedResponse('Confluence email API', parsed.error);
  return parsed.data.map((r) => ({ accountId: r.accountId, email: r.email && r.email.trim() !== '' ? r.email : null }));
}

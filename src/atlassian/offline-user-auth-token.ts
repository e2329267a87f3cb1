import { z } from 'zod';
import type { Clock } from '../clock.js';
import { GatewayError } from '../errors.js';
import { malformedResponse, readJsonResponse, sanitiseDescription } from './atlassian-response.js';
import { sendRequest, type FetchLike } from './send-request.js';

/**
 * Forge offline user impersonation from a remote (protocol doc part 2, §10.6 and §10.10): the app system
 * token is exchanged at Atlassian's GraphQL API for a token acting as one user. Split as every remote call:
 * `offlineUserAuthTokenRequest` sends, `processOfflineUserAuthTokenResponse` checks.
 */

export const FORGE_GRAPHQL_URL = 'https://api.atlassian.com/graphql';

/** The documented query, word for word (§10.6). */
export const OFFLINE_USER_AUTH_TOKEN_QUERY =
  'mutation forge_remote_offlineUserAuthToken($input: OfflineUserAuthTokenInput!) { offlineUserAuthToken(input: $input) { success errors { message } authToken { token ttl } } }';

/**
 * The context ARI of a Confluence installation. Atlassian documents only "context ARI of the installation";
 * staff gave the workspace form for Jira, and the site form appears elsewhere (§10.10), so both are offered.
 */
export type ContextIdForm = 'workspace' | 'site';

export function confluenceContextId(cloudId: string, form: ContextIdForm): string {
  return form === 'workspace' ? `ari:cloud:confluence:${cloudId}:workspace/${cloudId}` : `ari:cloud:confluence::site/${cloudId}`;
}

export interface OfflineUserAuthTokenRequestInput {
  graphqlUrl: string;
  systemToken: string;
  cloudId: string;
  accountId: string;
  contextIdForm: ContextIdForm;
  fetch: FetchLike;
  signal?: AbortSignal | undefined;
}

export interface OfflineUserToken {
  token: string;
  /** Milliseconds since the epoch: now + `ttl`. */
  expiresAt: number;
  ttlSeconds: number;
}

/** Why Forge would not impersonate, as far as its message tells; `context_mismatch` is worth one retry with the other form. */
export type ImpersonationRefusal = 'context_mismatch' | 'user_inactive' | 'no_app_access' | 'no_impersonation_scope' | 'service_account' | 'refused';

export function offlineUserAuthTokenRequest(input: OfflineUserAuthTokenRequestInput): Promise<Response> {
  const init: RequestInit = {
    method: 'POST',
    headers: { authorization: `Bearer ${input.systemToken}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      query: OFFLINE_USER_AUTH_TOKEN_QUERY,
      variables: { input: { contextIds: [confluenceContextId(input.cloudId, input.contextIdForm)], userId: input.accountId } },
    }),
    redirect: 'error',
  };
  if (input.signal !== undefined) init.signal = input.signal;
  return sendRequest(input.fetch, input.graphqlUrl, init, 'Forge offline user token request');
}

const wire = z.object({
  data: z
    .object({
      offlineUserAuthToken: z
        .object({
          success: z.boolean(),
          errors: z.array(z.object({ message: z.string() }).passthrough()).nullish(),
          authToken: z.object({ token: z.string().min(1), ttl: z.number().positive() }).nullish(),
        })
        .nullish(),
    })
    .nullish(),
  errors: z.array(z.object({ message: z.string().optional(), extensions: z.object({ statusCode: z.number().optional() }).passthrough().optional() }).passthrough()).optional(),
});

export function classifyRefusal(message: string): ImpersonationRefusal {
  if (/provided contextIds/i.test(message)) return 'context_mismatch';
  if (/deactivated|inactive|not active/i.test(message)) return 'user_inactive';
  if (/access to the app|no access/i.test(message)) return 'no_app_access';
  if (/allowImpersonation|impersonat\w* scope/i.test(message)) return 'no_impersonation_scope';
  if (/service account|app user/i.test(message)) return 'service_account';
  return 'refused';
}

function refused(reason: ImpersonationRefusal, message: string): GatewayError {
  return new GatewayError('IMPERSONATION_REFUSED', `Forge refused to impersonate the user (${reason}).`, {
    details: { reason, description: sanitiseDescription(message), retryable: false },
  });
}

/**
 * 2xx `{data: {offlineUserAuthToken: {success: true, authToken: {token, ttl}}}}` → the token. `success: false`
 * and GraphQL errors (an HTTP-401-style one means a service or app account) → IMPERSONATION_REFUSED with a
 * reason; a GraphQL 429 or an HTTP 429/5xx → ATLASSIAN_UNAVAILABLE (`retryAfterMs` when given); an HTTP 401 →
 * ATLASSIAN_ERROR `unauthorized`: the system token is missing, expired or revoked.
 */
export async function processOfflineUserAuthTokenResponse(response: Response, clock: Clock): Promise<OfflineUserToken> {
  const what = 'Forge offline user token request';
  const body = await readJsonResponse(response, what, clock);
  const parsed = wire.safeParse(body);
  if (!parsed.success) throw malformedResponse(what, parsed.error);
  const result = parsed.data.data?.offlineUserAuthToken;
  if (result?.success === true && result.authToken) {
    return { token: result.authToken.token, ttlSeconds: result.authToken.ttl, expiresAt: clock.now() + Math.floor(result.authToken.ttl * 1000) };
  }
  if (result && result.success === false) throw refused(classifyRefusal(result.errors?.[0]?.message ?? ''), result.errors?.map((e) => e.message).join('; ') ?? '');
  const first = parsed.data.errors?.[0];
  const status = first?.extensions?.statusCode;
  if (status === 429 || (status !== undefined && status >= 500)) {
    throw new GatewayError('ATLASSIAN_UNAVAILABLE', `${what}: Atlassian answered ${status}.`, { details: { reason: status === 429 ? 'rate_limited' : 'server_error', retryable: true } });
  }
  if (status === 401) throw refused('service_account', first?.message ?? '');
  if (first) throw refused(classifyRefusal(first.message ?? ''), first.message ?? '');
  throw new GatewayError('ATLASSIAN_ERROR', `${what}: the response has neither a token nor an error.`, { details: { reason: 'malformed_response', retryable: false } });
}

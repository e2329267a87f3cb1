export interface AuthorizeUrlInput {
  /** endpoints.authorizeUrl, e.g. `https://auth.atlassian.com/authorize`. */
  authorizeEndpoint: string;
  clientId: string;
  /** Must match a callback URL configured for the app. */
  redirectUri: string;
  /** OAuth 2.0 (3LO) scopes, e.g. `read:confluence-content.all`, `read:me`. */
  scopes: readonly string[];
  /** Unguessable, bound to the user's session; at least 16 characters. */
  state: string;
  /** Adds `offline_access` so the token response carries a refresh token. */
  offlineAccess?: boolean;
  /** Default `api.atlassian.com` (still required by Atlassian in practice, doc §5.1). */
  audience?: string;
  /** Default `consent`. */
  prompt?: string;
}

const MIN_STATE_LENGTH = 16;

function required(name: string, value: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`buildAuthorizeUrl: ${name} is required`);
}

/**
 * The 3LO authorization URL (doc §5.1): audience, client_id, scope (space-separated, sent as %20),
 * redirect_uri, state, response_type=code, prompt. Existing query parameters of the endpoint are kept.
 */
export function buildAuthorizeUrl(input: AuthorizeUrlInput): string {
  required('clientId', input.clientId);
  required('redirectUri', input.redirectUri);
  required('state', input.state);
  if (input.state.length < MIN_STATE_LENGTH) {
    throw new TypeError(`buildAuthorizeUrl: state must be at least ${MIN_STATE_LENGTH} characters of unguessable data`);
  }
  let endpoint: URL;
  try {
    endpoint = new URL(input.authorizeEndpoint);
  } catch (e) {
    throw new TypeError('buildAuthorizeUrl: authorizeEndpoint is not a URL', { cause: e });
  }
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') {
    throw new TypeError('buildAuthorizeUrl: authorizeEndpoint must be an http(s) URL');
  }
  const scopes: string[] = [];
  for (const scope of input.scopes) {
    if (typeof scope !== 'string' || scope === '' || /\s/.test(scope)) {
      throw new TypeError(`buildAuthorizeUrl: invalid scope ${JSON.stringify(scope)}`);
    }
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  if (input.offlineAccess === true && !scopes.includes('offline_access')) scopes.push('offline_access');
  if (scopes.length === 0) throw new TypeError('buildAuthorizeUrl: at least one scope is required');

  const params: Array<[string, string]> = [
    ['audience', input.audience ?? 'api.atlassian.com'],
    ['client_id', input.clientId],
    ['scope', scopes.join(' ')],
    ['redirect_uri', input.redirectUri],
    ['state', input.state],
    ['response_type', 'code'],
    ['prompt', input.prompt ?? 'consent'],
  ];
  const query = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  endpoint.hash = '';
  const base = endpoint.href;
  return `${base}${endpoint.search === '' ? '?' : '&'}${query}`;
}

import { OnbehalfApiError } from './api-error.js';
import type {
  ConfirmLinkSessionInput,
  CreateLinkSessionInput,
  EventPageWire,
  FeedEventWire,
  LinkSessionCreatedWire,
  LinkSessionViewWire,
  LinkWire,
  ListLinksInput,
  ResolutionWire,
  ResolveInputWire,
  TokenInput,
  TokenResultWire,
} from './wire-schemas.js';

export interface ClientOptions {
  /** Where the gateway is, e.g. `http://127.0.0.1:4000`. */
  baseUrl: string;
  /** An API key from `onbehalf apikeys create`. */
  apiKey: string;
  /** Custom fetch (tests, proxies, instrumentation). Defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface HealthStatus {
  status: string;
  version: string;
}

export interface ReadyStatus {
  status: 'ready' | 'not ready';
  checks: Record<string, { ok: boolean; detail?: string }>;
}

/** A standard fetch bound to one user on one site; paths are relative to the site's Confluence API base. */
export interface ActAsFetch {
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** The typed SDK for onbehalf's HTTP API; its types come from the schemas the gateway validates with. */
export interface OnbehalfClient {
  readonly baseUrl: string;
  health(): Promise<HealthStatus>;
  /** Readiness; a gateway that is not ready answers 503, returned here rather than thrown. */
  ready(): Promise<ReadyStatus>;
  readonly links: {
    /** Starts linking one of your users: send them to `url`. */
    start(input: CreateLinkSessionInput): Promise<LinkSessionCreatedWire>;
    /** A link session's status (pending, pending_confirmation, linked, denied, expired). */
    session(id: string): Promise<LinkSessionViewWire>;
    /** Redeems the completion code your return URL received (`onbehalf_code`); the link is then usable. */
    confirm(sessionId: string, input: ConfirmLinkSessionInput): Promise<LinkWire>;
    list(query?: ListLinksInput): Promise<LinkWire[]>;
    get(id: string): Promise<LinkWire>;
    revoke(id: string): Promise<LinkWire>;
  };
  /** Emails -> Atlassian accounts, from evidence only. */
  resolve(input: ResolveInputWire): Promise<ResolutionWire[]>;
  readonly tokens: {
    /** An access token for one of your users on a site; send it only under `apiBaseUrl`. */
    get(input: TokenInput): Promise<TokenResultWire>;
  };
  readonly events: {
    /** One page of the feed after a cursor ("0" = from the start). */
    list(query?: { after?: string; limit?: number }): Promise<EventPageWire>;
    /** Every event after a cursor, page by page, until the feed is drained. */
    iterate(query?: { after?: string; limit?: number }): AsyncGenerator<FeedEventWire, void, undefined>;
  };
  /**
   * A standard fetch as one of your users on a site, through the gateway's proxy. Confluence's answers
   * come back as they are (any status); the gateway's own refusals (USER_NOT_LINKED with `linkUrl`,
   * REAUTH_REQUIRED, POLICY_REFUSED, ...) throw OnbehalfApiError, as embedded `gateway.asUser` throws.
   */
  asUser(externalUserId: string, options: { site: string }): ActAsFetch;
}

const UPSTREAM_MARKER = 'x-onbehalf-upstream';

async function toApiError(res: Response, what: string): Promise<OnbehalfApiError> {
  const text = await res.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const envelope = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown; requestId?: unknown } } | undefined)?.error;
  return new OnbehalfApiError({
    status: res.status,
    code: typeof envelope?.code === 'string' ? envelope.code : `HTTP_${res.status}`,
    message: typeof envelope?.message === 'string' ? envelope.message : `onbehalf answered ${res.status} ${res.statusText} to ${what}`,
    ...(envelope?.details && typeof envelope.details === 'object' ? { details: envelope.details as Record<string, unknown> } : {}),
    ...(typeof envelope?.requestId === 'string' ? { requestId: envelope.requestId } : {}),
  });
}

export function createClient(options: ClientOptions): OnbehalfClient {
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch (cause) {
    throw new TypeError(`createClient: baseUrl must be an absolute URL such as http://127.0.0.1:4000, got "${options.baseUrl}"`, { cause });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('createClient: baseUrl must be http:// or https://');
  if (!options.apiKey || typeof options.apiKey !== 'string') throw new TypeError('createClient: apiKey is required (create one with `onbehalf apikeys create --name NAME`)');
  const baseUrl = base.href.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const auth = `Bearer ${options.apiKey}`;

  async function request<T>(method: string, path: string, init: { body?: unknown; okStatuses?: number[] } = {}): Promise<T> {
    const headers: Record<string, string> = { Authorization: auth, Accept: 'application/json' };
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await doFetch(`${baseUrl}${path}`, { method, headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
    if (!res.ok && !init.okStatuses?.includes(res.status)) throw await toApiError(res, `${method} ${path}`);
    const text = await res.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  const seg = (s: string): string => encodeURIComponent(s);
  const query = (q: Record<string, string | number | undefined>): string => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
    const s = p.toString();
    return s ? `?${s}` : '';
  };

  const events: OnbehalfClient['events'] = {
    list: (q = {}) => request<EventPageWire>('GET', `/v1/events${query({ after: q.after, limit: q.limit })}`),
    async *iterate(q = {}) {
      let after = q.after ?? '0';
      for (;;) {
        const page = await events.list({ after, ...(q.limit !== undefined ? { limit: q.limit } : {}) });
        for (const e of page.events) yield e;
        if (page.cursor === after || page.events.length === 0) return;
        after = page.cursor;
      }
    },
  };

  return {
    baseUrl,
    health: () => request<HealthStatus>('GET', '/healthz'),
    ready: () => request<ReadyStatus>('GET', '/readyz', { okStatuses: [503] }),
    links: {
      start: (input) => request('POST', '/v1/link-sessions', { body: input }),
      session: (id) => request('GET', `/v1/link-sessions/${seg(id)}`),
      confirm: (id, input) => request('POST', `/v1/link-sessions/${seg(id)}/confirm`, { body: input }),
      list: async (q = {}) =>
        (await request<{ links: LinkWire[] }>('GET', `/v1/links${query({ externalUserId: q.externalUserId, accountId: q.accountId, site: q.site, status: q.status, limit: q.limit as number | undefined })}`)).links,
      get: (id) => request('GET', `/v1/links/${seg(id)}`),
      revoke: (id) => request('DELETE', `/v1/links/${seg(id)}`),
    },
    resolve: async (input) => (await request<{ results: ResolutionWire[] }>('POST', '/v1/resolve', { body: input })).results,
    tokens: { get: (input) => request('POST', '/v1/tokens', { body: input }) },
    events,
    asUser(externalUserId, opts) {
      if (!externalUserId) throw new TypeError('asUser: externalUserId is required');
      if (!opts?.site) throw new TypeError('asUser: options.site is required (cloud id, site key or base URL)');
      const prefix = `${baseUrl}/v1/act/${seg(externalUserId)}/${seg(opts.site)}`;
      return {
        async fetch(path, init = {}) {
          if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) {
            throw new TypeError(`asUser().fetch: pass a path relative to the site's API base, starting with one "/" (e.g. /api/v2/spaces), got "${String(path).slice(0, 80)}"`);
          }
          const headers = new Headers(init.headers);
          headers.set('authorization', auth);
          const res = await doFetch(`${prefix}${path}`, { ...init, headers });
          if (res.headers.get(UPSTREAM_MARKER) === null && !res.ok) throw await toApiError(res, `${init.method ?? 'GET'} ${path}`);
          return res;
        },
      };
    },
  };
}

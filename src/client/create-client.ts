import { OnbehalfApiError } from './api-error.js';

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

/** The typed SDK for onbehalf's HTTP API. Link, token and act-as calls join it as the API grows. */
export interface OnbehalfClient {
  readonly baseUrl: string;
  health(): Promise<HealthStatus>;
  /** Readiness; a gateway that is not ready answers 503, returned here rather than thrown. */
  ready(): Promise<ReadyStatus>;
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

  async function request<T>(method: string, path: string, init: { body?: unknown; okStatuses?: number[] } = {}): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${options.apiKey}`, Accept: 'application/json' };
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await doFetch(`${baseUrl}${path}`, { method, headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.ok || init.okStatuses?.includes(res.status)) return parsed as T;
    const envelope = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown; requestId?: unknown } } | undefined)?.error;
    throw new OnbehalfApiError({
      status: res.status,
      code: typeof envelope?.code === 'string' ? envelope.code : `HTTP_${res.status}`,
      message: typeof envelope?.message === 'string' ? envelope.message : `onbehalf answered ${res.status} ${res.statusText} to ${method} ${path}`,
      ...(envelope?.details && typeof envelope.details === 'object' ? { details: envelope.details as Record<string, unknown> } : {}),
      ...(typeof envelope?.requestId === 'string' ? { requestId: envelope.requestId } : {}),
    });
  }

  return {
    baseUrl,
    health: () => request<HealthStatus>('GET', '/healthz'),
    ready: () => request<ReadyStatus>('GET', '/readyz', { okStatuses: [503] }),
  };
}

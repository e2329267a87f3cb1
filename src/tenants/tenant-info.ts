import { z } from 'zod';
import { GatewayError } from '../errors.js';

/** Sends `GET <site>/_edge/tenant_info`; the site root is the Connect base URL without its `/wiki`. */
export function tenantInfoRequest(input: { siteBaseUrl: string; fetch: typeof fetch; signal?: AbortSignal }): Promise<Response> {
  const root = input.siteBaseUrl.replace(/\/+$/, '').replace(/\/wiki$/, '');
  return input.fetch(`${root}/_edge/tenant_info`, { headers: { accept: 'application/json' }, ...(input.signal ? { signal: input.signal } : {}) });
}

const schema = z.object({ cloudId: z.string().min(1).max(200) });

export async function processTenantInfoResponse(res: Response): Promise<string> {
  if (!res.ok) throw new GatewayError('ATLASSIAN_ERROR', `tenant_info answered HTTP ${res.status}`, { details: { status: res.status } });
  const parsed = schema.safeParse(await res.json().catch(() => undefined));
  if (!parsed.success) throw new GatewayError('ATLASSIAN_ERROR', 'tenant_info did not carry a cloudId');
  return parsed.data.cloudId;
}

import { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import { malformedResponse, readJsonResponse } from './atlassian-response.js';
import type { BearerRequestInput } from './me-request.js';
import { sendRequest } from './send-request.js';

/** Sends `GET <accessibleResourcesUrl>` with a 3LO access token (doc §5.4). */
export function accessibleResourcesRequest(input: BearerRequestInput & { accessibleResourcesUrl: string }): Promise<Response> {
  const init: RequestInit = {
    method: 'GET',
    headers: { authorization: `Bearer ${input.accessToken}`, accept: 'application/json' },
    redirect: 'error',
  };
  if (input.signal !== undefined) init.signal = input.signal;
  return sendRequest(input.fetch, input.accessibleResourcesUrl, init, 'Accessible-resources request');
}

/** A site the token can reach. `cloudId` is the wire `id`; API calls go to `/ex/confluence/{cloudId}`. */
export interface AccessibleResource {
  cloudId: string;
  url: string;
  name: string;
  scopes: string[];
  avatarUrl?: string;
}

const resourceWire = z.object({
  id: z.string().min(1),
  url: z.string().min(1),
  name: z.string(),
  scopes: z.array(z.string()).optional(),
  avatarUrl: z.string().nullish(),
});

const resourcesWire = z.array(resourceWire);

/** Checks an accessible-resources response and converts it. */
export async function processAccessibleResourcesResponse(response: Response, clock: Clock = systemClock): Promise<AccessibleResource[]> {
  const what = 'Accessible-resources request';
  const parsed = resourcesWire.safeParse(await readJsonResponse(response, what, clock));
  if (!parsed.success) throw malformedResponse(what, parsed.error);
  return parsed.data.map((r) => {
    const resource: AccessibleResource = { cloudId: r.id, url: r.url, name: r.name, scopes: r.scopes ?? [] };
    if (typeof r.avatarUrl === 'string' && r.avatarUrl !== '') resource.avatarUrl = r.avatarUrl;
    return resource;
  });
}

import { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import { malformedResponse, readJsonResponse } from './atlassian-response.js';
import { sendRequest, type FetchLike } from './send-request.js';

export interface BearerRequestInput {
  accessToken: string;
  fetch: FetchLike;
  signal?: AbortSignal | undefined;
}

/** Sends `GET <meUrl>` with the user's 3LO access token (scope `read:me`, doc §5.5). */
export function meRequest(input: BearerRequestInput & { meUrl: string }): Promise<Response> {
  const init: RequestInit = {
    method: 'GET',
    headers: { authorization: `Bearer ${input.accessToken}`, accept: 'application/json' },
    redirect: 'error',
  };
  if (input.signal !== undefined) init.signal = input.signal;
  return sendRequest(input.fetch, input.meUrl, init, 'User identity (/me) request');
}

/** The consenting user, in our own spelling. Email may be missing (privacy); empty strings become undefined. */
export interface AtlassianMe {
  accountId: string;
  accountType?: string;
  accountStatus?: string;
  email?: string;
  /** Only trust `email` for identity when this is true. */
  emailVerified?: boolean;
  name?: string;
  nickname?: string;
  picture?: string;
  locale?: string;
  zoneinfo?: string;
}

const optionalText = z.string().nullish();

const meWire = z.object({
  account_id: z.string().min(1),
  account_type: optionalText,
  account_status: optionalText,
  email: optionalText,
  email_verified: z.boolean().nullish(),
  name: optionalText,
  nickname: optionalText,
  picture: optionalText,
  locale: optionalText,
  zoneinfo: optionalText,
});

/** Checks a `/me` response and converts it. 401 → ATLASSIAN_ERROR reason `unauthorized`. */
export async function processMeResponse(response: Response, clock: Clock = systemClock): Promise<AtlassianMe> {
  const what = 'User identity (/me) request';
  const parsed = meWire.safeParse(await readJsonResponse(response, what, clock));
  if (!parsed.success) throw malformedResponse(what, parsed.error);
  const w = parsed.data;
  const me: AtlassianMe = { accountId: w.account_id };
  const text: Array<[Exclude<keyof AtlassianMe, 'accountId' | 'emailVerified'>, string | null | undefined]> = [
    ['accountType', w.account_type],
    ['accountStatus', w.account_status],
    ['email', w.email],
    ['name', w.name],
    ['nickname', w.nickname],
    ['picture', w.picture],
    ['locale', w.locale],
    ['zoneinfo', w.zoneinfo],
  ];
  for (const [key, value] of text) if (typeof value === 'string' && value.trim() !== '') me[key] = value;
  if (typeof w.email_verified === 'boolean') me.emailVerified = w.email_verified;
  return me;
}

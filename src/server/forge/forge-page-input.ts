import type { Context } from 'hono';
import { GatewayError } from '../../errors.js';
import type { ForgeAuth } from '../middleware/forge-invocation-auth.js';

const MAX_UI_BODY_BYTES = 64 * 1024;

/** A UI call's JSON object body (`invokeRemote` sends one); anything else is a clear 400, never a 3xx. */
export async function uiBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (Buffer.byteLength(text) > MAX_UI_BODY_BYTES) throw new GatewayError('PAYLOAD_TOO_LARGE', `The body is larger than ${MAX_UI_BODY_BYTES} bytes.`);
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new GatewayError('BAD_REQUEST', 'The body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError('VALIDATION_FAILED', 'The body must be a JSON object.');
  return body as Record<string, unknown>;
}

export interface ForgeCaller {
  forge: ForgeAuth;
  accountId: string;
  cloudId: string;
}

/**
 * The person behind a UI call, from the verified FIT only: its `principal`, on its installation's site, from
 * the named module of our app (its `app.module.key`, and `context.moduleKey` when present). A trigger (no
 * principal) or another module's page is refused with 403: 401 means "bad FIT" to Forge (§10.3).
 */
export function forgeCaller(c: Context, moduleKey: string): ForgeCaller {
  const forge = c.get('forge') as ForgeAuth;
  const inv = forge.invocation;
  if (!inv.principal) throw new GatewayError('FORBIDDEN', 'This call needs a signed-in Confluence user (a UI invocation); triggers cannot make it.', { details: { reason: 'no_principal' } });
  const contextKey = inv.context?.moduleKey ?? null;
  if (inv.module.key !== moduleKey || (contextKey !== null && contextKey !== moduleKey)) {
    throw new GatewayError('FORBIDDEN', 'This call is accepted only from its own page of the app.', { details: { reason: 'wrong_module', moduleKey: inv.module.key } });
  }
  return { forge, accountId: inv.principal, cloudId: inv.cloudId };
}

import { createHash } from 'node:crypto';
import type { Context, Handler } from 'hono';
import { GatewayError } from '../../errors.js';
import type { BackgroundTasks } from '../../background-tasks.js';
import type { CapturedWebhook } from '../../identity/capture-webhook.js';
import { WEBHOOK_EVENTS, type ConnectDescriptor } from '../../tenants/connect-descriptor.js';
import type { ConnectLifecycle, LifecycleRequest } from '../../tenants/connect-lifecycle.js';
import type { ConnectAuth } from '../middleware/connect-jwt-auth.js';
import type { Logger } from '../../logger.js';
import type { WebhookReplaysRepo } from '../../store/webhook-replays-repo.js';
import type { RouteDef } from '../routes.js';

export interface ConnectRouteDeps {
  descriptor: ConnectDescriptor;
  lifecycle: ConnectLifecycle;
  captureWebhook: (w: CapturedWebhook) => Promise<unknown>;
  background: BackgroundTasks;
  /** Remembers each accepted delivery until its token expires, so a replayed one is dropped. */
  webhookReplays: Pick<WebhookReplaysRepo, 'firstSeen'>;
  /** The verifier's clock leeway: a token stays acceptable (and so replayable) this long past its `exp`. */
  jwtLeewayMs: number;
  logger: Logger;
}

const MAX_LIFECYCLE_BYTES = 64 * 1024;
const MAX_WEBHOOK_BYTES = 1024 * 1024;

async function readText(c: Context, limit: number): Promise<string> {
  const text = await c.req.text();
  if (Buffer.byteLength(text) > limit) throw new GatewayError('PAYLOAD_TOO_LARGE', `The body is larger than ${limit} bytes.`);
  return text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new GatewayError('BAD_REQUEST', 'The body is not valid JSON.');
  }
}

async function readJson(c: Context, limit: number): Promise<unknown> {
  return parseJson(await readText(c, limit));
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function lifecycleHandler(run: (req: LifecycleRequest) => Promise<unknown>): Handler {
  return async (c) => {
    const url = new URL(c.req.url);
    await run({ method: c.req.method, url: `${url.pathname}${url.search}`, authorization: c.req.header('authorization'), body: await readJson(c, MAX_LIFECYCLE_BYTES) });
    return c.body(null, 204);
  };
}

/** The Connect app's routes: descriptor, lifecycle callbacks and webhooks. */
export function connectRoutes(deps: ConnectRouteDeps): RouteDef[] {
  const webhook: Handler = async (c) => {
    const event = c.req.param('event') ?? '';
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(event)) throw new GatewayError('NOT_FOUND', `This app does not subscribe to "${event}".`);
    const auth = c.get('connect') as ConnectAuth;
    const text = await readText(c, MAX_WEBHOOK_BYTES);
    const body = parseJson(text);
    // A token may be replayed for as long as it verifies: drop every delivery after the first, keyed by
    // the token's jti where Atlassian sends one, else by the token and the body together. 204 all the
    // same: a replay is not an error the product should retry.
    const replayKey = auth.claims.jwtId !== undefined ? digest(`jti\u0000${auth.tenant.id}\u0000${auth.claims.jwtId}`) : digest(`token\u0000${auth.tokenDigest}\u0000${text}`);
    if (!(await deps.webhookReplays.firstSeen(replayKey, auth.claims.expiresAt + deps.jwtLeewayMs))) {
      deps.logger.warn({ event, site: auth.tenant.baseUrl, keyedBy: auth.claims.jwtId !== undefined ? 'jti' : 'token_and_body' }, 'webhook replay dropped');
      return c.body(null, 204);
    }
    // Answer at once; recording sightings and the feed entry happens after the response.
    deps.background.run(`webhook:${event}`, async () => {
      await deps.captureWebhook({ tenant: auth.tenant, event, body, subject: auth.claims.accountId });
    });
    return c.body(null, 204);
  };

  return [
    { method: 'GET', path: '/atlassian-connect.json', auth: 'public', summary: 'The Connect app descriptor.', handler: (c) => c.json(deps.descriptor) },
    { method: 'POST', path: '/installed', auth: 'connectInstall', summary: 'Connect lifecycle: installed (RS256 signed install).', handler: lifecycleHandler(deps.lifecycle.installed) },
    { method: 'POST', path: '/uninstalled', auth: 'connectInstall', summary: 'Connect lifecycle: uninstalled (RS256 signed).', handler: lifecycleHandler(deps.lifecycle.uninstalled) },
    { method: 'POST', path: '/enabled', auth: 'connectInstall', summary: 'Connect lifecycle: enabled (HS256, stored secret).', handler: lifecycleHandler(deps.lifecycle.enabled) },
    { method: 'POST', path: '/disabled', auth: 'connectInstall', summary: 'Connect lifecycle: disabled (HS256, stored secret).', handler: lifecycleHandler(deps.lifecycle.disabled) },
    {
      method: 'GET',
      path: '/connect/context',
      auth: 'connectContext',
      summary: 'Who the iframe user is, for our pages inside Confluence (context JWT from AP.context.getToken()).',
      handler: (c) => {
        const auth = c.get('connect') as ConnectAuth;
        return c.json({ site: auth.tenant.baseUrl, cloudId: auth.tenant.cloudId, accountId: auth.claims.accountId ?? null });
      },
    },
    { method: 'POST', path: '/connect/webhooks/:event', auth: 'connectJwt', summary: 'Confluence webhooks; accounts seen go to the known-accounts directory.', handler: webhook },
  ];
}

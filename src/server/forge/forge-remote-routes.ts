import type { Context } from 'hono';
import { GatewayError } from '../../errors.js';
import type { BackgroundTasks } from '../../background-tasks.js';
import type { Logger } from '../../logger.js';
import { accountsInWebhook } from '../../identity/accounts-in-webhook.js';
import type { ForgeEmailIndex } from '../../identity/forge-email-index.js';
import type { Repositories } from '../../store/repositories.js';
import type { ForgeAuth } from '../middleware/forge-invocation-auth.js';
import type { RouteDef } from '../routes.js';
import type { Tenant } from '../../store/tenants-repo.js';

export interface ForgeRouteDeps {
  repos: Repositories;
  background: BackgroundTasks;
  logger: Logger;
  /**
   * Learns the site's own address (triggers carry only `apiBaseUrl`), so a new installation can be named by
   * its site key or URL and link sessions can point at its pages before anyone opened one.
   */
  learnSiteUrl?: (tenant: Tenant) => Promise<unknown>;
  /** The per-site user index (emails as keyed hashes): refreshed a bounded step per tick and on events. */
  emailIndex?: ForgeEmailIndex | null;
}

const MAX_EVENT_BYTES = 1024 * 1024;

async function payloadOf(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (Buffer.byteLength(text) > MAX_EVENT_BYTES) throw new GatewayError('PAYLOAD_TOO_LARGE', `The body is larger than ${MAX_EVENT_BYTES} bytes.`);
  let body: unknown;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new GatewayError('BAD_REQUEST', 'The body is not valid JSON.');
  }
  const payload = (body as { payload?: unknown } | null)?.payload;
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
}

/**
 * The gateway as a Forge remote (manifest endpoints with these route paths, see docs/sandbox.md's example):
 * lifecycle and the hourly keep-alive mostly need the invocation recorded, which the auth middleware did,
 * and each also runs one bounded step of the site's email index; product events say who acted, which
 * feeds the directory of accounts seen on the site and queues those accounts for the email index. Forge
 * wants a JSON answer and treats any 2xx as delivered, so each answers `{"ok": true}` at once.
 */
export function forgeRemoteRoutes(deps: ForgeRouteDeps): RouteDef[] {
  const ok = (c: Context) => c.json({ ok: true });
  const refreshIndex = (forge: ForgeAuth): void => {
    const index = deps.emailIndex;
    if (index) deps.background.run('forge:email-index', async () => void (await index.refresh(forge.tenant)));
  };
  return [
    {
      method: 'POST',
      path: '/forge/lifecycle',
      auth: 'forgeInvocation',
      summary: 'Forge trigger: avi:forge:installed:app and avi:forge:upgraded:app.',
      handler: async (c) => {
        const forge = c.get('forge') as ForgeAuth;
        const payload = await payloadOf(c);
        const eventType = typeof payload['eventType'] === 'string' ? payload['eventType'] : 'unknown';
        const learn = deps.learnSiteUrl;
        if (learn) deps.background.run('forge:site-url', async () => {
          await learn(forge.tenant);
        });
        deps.background.run('forge:lifecycle', async () => {
          await deps.repos.audit.append({ action: 'forge.lifecycle', actorType: 'app', actorId: forge.invocation.installationId, cloudId: forge.invocation.cloudId, route: 'forge', reason: eventType.slice(0, 64), data: { appVersion: forge.invocation.appVersion } });
        });
        refreshIndex(forge);
        return ok(c);
      },
    },
    {
      method: 'POST',
      path: '/forge/events',
      auth: 'forgeInvocation',
      summary: 'Forge trigger: Confluence product events (the acting account joins the accounts seen).',
      handler: async (c) => {
        const forge = c.get('forge') as ForgeAuth;
        const payload = await payloadOf(c);
        const accountId = typeof payload['atlassianId'] === 'string' ? payload['atlassianId'] : null;
        const eventType = typeof payload['eventType'] === 'string' ? payload['eventType'] : 'event';
        if (accountId && /^[A-Za-z0-9:_-]{1,128}$/.test(accountId)) {
          deps.background.run('forge:event', () => deps.repos.knownAccounts.record({ cloudId: forge.invocation.cloudId, accountId, source: `forge:${eventType.slice(0, 64)}` }));
        }
        // Everyone the event names (actor, author, last editor) may be new on the site: the index asks about them now.
        const named = [...new Set([...(accountId ? [accountId] : []), ...accountsInWebhook(payload).map((a) => a.accountId)])];
        const index = deps.emailIndex;
        if (index && named.length > 0) deps.background.run('forge:email-index', () => index.noteAccounts(forge.tenant, named));
        return ok(c);
      },
    },
    {
      method: 'POST',
      path: '/forge/tick',
      auth: 'forgeInvocation',
      summary: 'Forge scheduled trigger: keeps a fresh app system token and refreshes a bounded step of the site email index.',
      handler: (c) => {
        refreshIndex(c.get('forge') as ForgeAuth);
        return ok(c);
      },
    },
  ];
}

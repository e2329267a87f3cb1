import type { Logger } from '../logger.js';
import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';
import { ensureCloudId } from '../tenants/ensure-cloud-id.js';
import { accountsInWebhook } from './accounts-in-webhook.js';

export interface CapturedWebhook {
  tenant: Tenant;
  event: string;
  body: unknown;
  /** The verified JWT's `sub`, when the product named a user. */
  subject: string | undefined;
}

/**
 * Context capture from webhooks: every account a verified webhook names goes into the known-accounts
 * directory (so admins map accounts really seen, never guessed from names), and the event goes into the
 * durable feed for the app's backend.
 */
export function createWebhookCapture(deps: { repos: Repositories; fetch: typeof fetch; logger: Logger }) {
  return async function capture(w: CapturedWebhook): Promise<{ accounts: number }> {
    const cloudId = await ensureCloudId(deps, w.tenant);
    const accounts = accountsInWebhook(w.body);
    if (w.subject && !accounts.some((a) => a.accountId === w.subject)) accounts.unshift({ accountId: w.subject, role: 'actor' });
    if (cloudId) {
      for (const a of accounts) {
        await deps.repos.knownAccounts.record({
          cloudId,
          accountId: a.accountId,
          source: `webhook:${w.event}`,
          ...(a.displayName ? { displayName: a.displayName } : {}),
          ...(a.publicName ? { publicName: a.publicName } : {}),
        });
      }
    }
    await deps.repos.events.append({
      type: `webhook.${w.event}`,
      cloudId: cloudId ?? null,
      accountId: accounts[0]?.accountId ?? null,
      externalUserId: null,
      data: { site: w.tenant.baseUrl, accounts: accounts.map((a) => ({ accountId: a.accountId, role: a.role })), body: w.body as Record<string, unknown> },
    });
    return { accounts: accounts.length };
  };
}

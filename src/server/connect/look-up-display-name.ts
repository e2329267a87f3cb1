import type { ConnectActAs } from '../../broker/connect-act-as.js';
import type { Logger } from '../../logger.js';
import type { Tenant } from '../../store/tenants-repo.js';

/**
 * The display name of an account, asked as the app, for pages that greet the user by name. Best effort:
 * the page shows the account ID instead when Confluence is slow or says no.
 */
export async function lookUpDisplayName(deps: { actAs: ConnectActAs; logger: Logger }, tenant: Tenant, accountId: string): Promise<string | null> {
  try {
    const res = await deps.actAs.asApp(tenant, { retry: { maxAttempts: 1 } }).fetch(`/rest/api/user?accountId=${encodeURIComponent(accountId)}`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return null;
    const user = (await res.json()) as { displayName?: unknown };
    return typeof user.displayName === 'string' ? user.displayName : null;
  } catch (e) {
    deps.logger.debug({ err: e }, 'could not look up the display name');
    return null;
  }
}

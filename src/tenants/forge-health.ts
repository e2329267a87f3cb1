import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';
import { systemTokenKey } from './forge-installation.js';

/**
 * The token health of a Forge installation, for the console and `onbehalf doctor`. The gateway can act
 * through an installation only while it holds a live app system token, and Forge hands those out only with
 * invocations: a scheduled trigger's token lives at least 2 hours (§10.2), so with the hourly trigger a
 * token with less than an hour left means a run was missed, and an expired or absent one means none came.
 */
export type ForgeTokenState = 'valid' | 'expiring' | 'expired' | 'missing' | 'rejected';

export interface ForgeInstallationHealth {
  tenant: Tenant;
  state: ForgeTokenState;
  /** When the stored system token was last replaced by a newer one, and when it expires. */
  systemToken: { storedAt: number; expiresAt: number | null } | null;
  lastInvocationAt: number | null;
  lastModule: string | null;
  lastTriggerAt: number | null;
  /** What to do, in a sentence; null when all is well. */
  advice: string | null;
}

const HOUR_MS = 3_600_000;

export function forgeTokenState(input: { status: Tenant['status']; expiresAt: number | null | undefined; hasToken: boolean; now: number }): ForgeTokenState {
  if (input.status !== 'active') return 'rejected';
  if (!input.hasToken) return 'missing';
  if (input.expiresAt === null || input.expiresAt === undefined || input.expiresAt <= input.now) return 'expired';
  if (input.expiresAt - input.now < HOUR_MS) return 'expiring';
  return 'valid';
}

export function forgeAdvice(state: ForgeTokenState): string | null {
  switch (state) {
    case 'valid':
      return null;
    case 'expiring':
      return 'The app system token has less than an hour left: the hourly scheduled trigger seems to have missed a run. Check that the manifest has the scheduled trigger (interval: hour) pointing at this gateway.';
    case 'expired':
      return 'The app system token has expired and no invocation brought a new one, so acting through Forge fails until one does. Wait for the hourly scheduled trigger; if none arrives, check that the app is still installed on the site and reinstall it.';
    case 'missing':
      return 'No app system token has arrived yet. Forge sends one with every invocation: check that the manifest enables appSystemToken on the gateway endpoints and wait for the hourly trigger, or reinstall the app.';
    case 'rejected':
      return 'Forge refused the stored app system token: the app may have been uninstalled from the site. The next invocation (the hourly trigger) brings the installation back if it is still installed; reinstall the app otherwise.';
  }
}

export async function forgeInstallationHealth(repos: Repositories, tenant: Tenant, now: number): Promise<ForgeInstallationHealth> {
  const [stored, activity] = await Promise.all([repos.tokens.get(systemTokenKey(tenant)), repos.forgeActivity.get(tenant.id)]);
  const state = forgeTokenState({ status: tenant.status, expiresAt: stored?.expiresAt, hasToken: stored !== undefined, now });
  return {
    tenant,
    state,
    systemToken: stored ? { storedAt: stored.updatedAt, expiresAt: stored.expiresAt } : null,
    lastInvocationAt: activity?.lastInvocationAt ?? null,
    lastModule: activity?.lastModule ?? null,
    lastTriggerAt: activity?.lastTriggerAt ?? null,
    advice: forgeAdvice(state),
  };
}

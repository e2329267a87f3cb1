import type { Clock } from '../clock.js';
import { GatewayError, isGatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  EMAIL_BULK_MAX,
  USER_SEARCH_PAGE,
  emailBulkRequest,
  processEmailBulkResponse,
  processSearchSiteUsersResponse,
  searchSiteUsersRequest,
} from '../atlassian/confluence-user-directory.js';
import { forgeApiBase, forgeSystemTokenMissing } from '../broker/forge-app-client.js';
import type { EmailHasher } from '../store/email-hasher.js';
import { normalizeEmail } from '../store/email-hasher.js';
import type { EmailIndexSite } from '../store/email-index-repo.js';
import type { Repositories } from '../store/repositories.js';
import type { Tenant } from '../store/tenants-repo.js';
import type { ForgeInstallations } from '../tenants/forge-installation.js';

export interface EmailIndexRefresh {
  /** Accounts whose email the email API was asked about in this run. */
  checked: number;
  /** Whether this run finished a whole pass over the site's user search. */
  passCompleted: boolean;
  /** Accounts that left the index because the finished pass no longer listed them. */
  removed: number;
}

export interface ForgeEmailIndex {
  /**
   * One bounded step for a site: accounts waiting for the email API first (named by product events), then
   * the next pages of the site's user search, at most `maxUsers` accounts in all. The cursor is stored after
   * every page, so a failed or interrupted run resumes where it stopped.
   */
  refresh(tenant: Tenant, options?: { maxUsers?: number; enumerate?: boolean }): Promise<EmailIndexRefresh>;
  /** Accounts a product event named: new or stale ones wait for the email API, asked at once (bounded). */
  noteAccounts(tenant: Tenant, accountIds: readonly string[]): Promise<void>;
  /** The accounts of the site whose email is this one (lower-cased), per email asked; never a guess. */
  lookup(cloudId: string, emails: readonly string[]): Promise<Map<string, string[]>>;
  /** Where the site's index stands (null before its first run). */
  site(cloudId: string): Promise<EmailIndexSite | null>;
}

export interface ForgeEmailIndexDeps {
  repos: Repositories;
  installations: ForgeInstallations;
  hasher: EmailHasher;
  /** Where Forge installations without an `apiBaseUrl` are reached (never in practice: every FIT has one). */
  apiGatewayUrl: string;
  fetch: typeof fetch;
  clock: Clock;
  logger: Logger;
}

export interface ForgeEmailIndexOptions {
  /** Accounts per run (tick, event or resolve): bounds the calls one run makes (a page and an email call per 100). */
  usersPerRun?: number;
  /** An account a product event names again is re-asked only if its last answer is older than this. */
  recheckAfterMs?: number;
  callTimeoutMs?: number;
}

const ACCOUNT_ID = /^[A-Za-z0-9:_-]{1,128}$/;

/**
 * The per-site user index of Forge sites: which account has which email, kept as keyed hashes only
 * (store/email-hasher.ts). Atlassian's email API answers Forge apps acting as the app, whatever the user's
 * profile visibility, so enumerating the site's users (user search) and asking the email API for each page
 * gives the answer to "which Atlassian account is my user?" that user search alone cannot (hidden emails).
 *
 * Work is bounded per run and driven from outside: the hourly Forge trigger, product events that name
 * accounts, and a resolve on a site whose index is not built yet. A pass over the site's users ends when the
 * search has no next page; accounts the finished pass did not list (and no event named meanwhile) leave the
 * index. Runs for one site never overlap within a process; two instances may both run (writes are
 * idempotent; the worst case is a page read twice or, rarely, skipped until the next pass).
 */
export function createForgeEmailIndex(deps: ForgeEmailIndexDeps, options: ForgeEmailIndexOptions = {}): ForgeEmailIndex {
  const { repos, clock } = deps;
  const usersPerRun = options.usersPerRun ?? 1000;
  const recheckAfterMs = options.recheckAfterMs ?? 3_600_000;
  const running = new Map<string, Promise<unknown>>();
  /** One run at a time per site in this process; a run asked for meanwhile starts when the last one ends. */
  const serial = <T>(cloudId: string, work: () => Promise<T>): Promise<T> => {
    const prior = running.get(cloudId) ?? Promise.resolve();
    const next = prior.catch(() => undefined).then(work);
    running.set(cloudId, next);
    void next.finally(() => {
      if (running.get(cloudId) === next) running.delete(cloudId);
    }).catch(() => undefined);
    return next;
  };
  const signal = () => AbortSignal.timeout(options.callTimeoutMs ?? 30_000);

  async function askEmails(tenant: Tenant, cloudId: string, apiBase: string, systemToken: string, accountIds: readonly string[]): Promise<number> {
    for (let i = 0; i < accountIds.length; i += EMAIL_BULK_MAX) {
      const ids = accountIds.slice(i, i + EMAIL_BULK_MAX);
      const answered = await processEmailBulkResponse(await emailBulkRequest({ apiBase, systemToken, accountIds: ids, fetch: deps.fetch, signal: signal() }), clock);
      const emails = new Map(answered.map((a) => [a.accountId, a.email]));
      // The email is hashed here and dropped: only the keyed hash reaches the store.
      await repos.emailIndex.record(
        cloudId,
        ids.map((accountId) => {
          const email = emails.get(accountId) ?? null;
          return email ? { accountId, emailHash: deps.hasher.hash(cloudId, email), keyId: deps.hasher.activeKeyId } : { accountId, emailHash: null, keyId: null };
        }),
      );
    }
    return accountIds.length;
  }

  async function run(tenant: Tenant, maxUsers: number, enumerate: boolean): Promise<EmailIndexRefresh> {
    const cloudId = tenant.cloudId;
    if (!cloudId) throw new GatewayError('ATLASSIAN_UNAVAILABLE', `The cloud id of ${tenant.baseUrl} is not known yet.`);
    const out: EmailIndexRefresh = { checked: 0, passCompleted: false, removed: 0 };
    const waiting = await repos.emailIndex.pending(cloudId, maxUsers);
    // Nothing waits and no enumeration was asked for (a resolve on a built index): no call, no write.
    if (!enumerate && waiting.length === 0) return out;
    try {
      const system = await deps.installations.systemToken(tenant);
      if (!system) throw forgeSystemTokenMissing(tenant);
      const apiBase = forgeApiBase(tenant, deps.apiGatewayUrl);
      let budget = maxUsers;
      out.checked += await askEmails(tenant, cloudId, apiBase, system.token, waiting);
      budget -= waiting.length;
      let site = (await repos.emailIndex.site(cloudId)) ?? null;
      while (enumerate && budget > 0) {
        const passStartedAt = site?.passStartedAt ?? clock.now();
        const start = site?.passStartedAt ? site.nextStart : 0;
        const limit = Math.min(USER_SEARCH_PAGE, budget);
        const page = await processSearchSiteUsersResponse(await searchSiteUsersRequest({ apiBase, systemToken: system.token, start, limit, fetch: deps.fetch, signal: signal() }), start, clock);
        // People only: app users cannot be anyone's account, and the email API has nothing for them.
        const people = [...new Set(page.users.filter((u) => u.accountType === 'atlassian' && ACCOUNT_ID.test(u.accountId)).map((u) => u.accountId))];
        out.checked += await askEmails(tenant, cloudId, apiBase, system.token, people);
        budget -= Math.max(1, page.users.length);
        if (page.nextStart === null) {
          out.removed = await repos.emailIndex.deleteUnseenSince(cloudId, passStartedAt);
          site = await repos.emailIndex.saveSite(cloudId, { nextStart: 0, passStartedAt: null, lastPassAt: clock.now() });
          out.passCompleted = true;
          break;
        }
        site = await repos.emailIndex.saveSite(cloudId, { nextStart: page.nextStart, passStartedAt });
      }
      await repos.emailIndex.saveSite(cloudId, { lastRunAt: clock.now(), lastError: null });
      return out;
    } catch (caught) {
      // Forge refusing the stored system token says the same as having none: what to do is the same too.
      const e =
        isGatewayError(caught, 'ATLASSIAN_ERROR') && caught.details?.['reason'] === 'unauthorized'
          ? new GatewayError('FORGE_TOKEN_UNAVAILABLE', `Forge no longer accepts the app system token of the installation on ${tenant.baseUrl}: the app may have been uninstalled. A new invocation (the hourly trigger) brings a new token if it is still installed.`, {
              details: { installationId: tenant.tenantKey, retryable: false },
              cause: caught,
            })
          : caught;
      const code = isGatewayError(e) ? e.code : 'INTERNAL';
      await repos.emailIndex.saveSite(cloudId, { lastRunAt: clock.now(), lastError: code }).catch(() => undefined);
      throw e;
    }
  }

  return {
    refresh(tenant, opts = {}) {
      return serial(tenant.cloudId ?? tenant.id, () => run(tenant, opts.maxUsers ?? usersPerRun, opts.enumerate ?? true));
    },
    async noteAccounts(tenant, accountIds) {
      const cloudId = tenant.cloudId;
      const ids = accountIds.filter((id) => ACCOUNT_ID.test(id));
      if (!cloudId || ids.length === 0) return;
      const waiting = await repos.emailIndex.markPending(cloudId, ids, clock.now() - recheckAfterMs);
      if (waiting > 0) await serial(cloudId, () => run(tenant, usersPerRun, false));
    },
    async lookup(cloudId, emails) {
      const used = await repos.emailIndex.keyIds(cloudId);
      const unknown = used.filter((k) => !deps.hasher.keyIds.includes(k));
      if (unknown.length > 0) deps.logger.warn({ cloudId, keyIds: unknown }, 'email index rows were hashed under master keys that are not configured; they cannot match until the index refresh re-hashes them');
      const keys = used.filter((k) => deps.hasher.keyIds.includes(k));
      const byHash = new Map<string, string>();
      for (const email of emails) for (const k of keys) byHash.set(deps.hasher.hash(cloudId, email, k), normalizeEmail(email));
      const out = new Map<string, string[]>();
      const hashes = [...byHash.keys()];
      for (let i = 0; i < hashes.length; i += 500) {
        for (const row of await repos.emailIndex.find(cloudId, hashes.slice(i, i + 500))) {
          const email = row.emailHash ? byHash.get(row.emailHash) : undefined;
          if (!email) continue;
          const list = out.get(email) ?? [];
          if (!list.includes(row.accountId)) list.push(row.accountId);
          out.set(email, list);
        }
      }
      return out;
    },
    async site(cloudId) {
      return (await repos.emailIndex.site(cloudId)) ?? null;
    },
  };
}

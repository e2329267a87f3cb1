import type { Clock } from '../clock.js';
import { GatewayError, isGatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AtlassianEndpoints } from '../atlassian/endpoints.js';
import { processTokenResponse, refreshTokenRequest, type OAuthTokenSet } from '../atlassian/oauth-token.js';
import { retryDelay } from '../atlassian/retry-delay.js';
import type { FetchLike } from '../atlassian/send-request.js';
import type { Store } from '../store/create-store.js';
import type { Repositories } from '../store/repositories.js';
import type { StoredToken, TokenKey, TokensRepo } from '../store/tokens-repo.js';
import { withRefreshLock } from '../store/with-refresh-lock.js';
import { writeTransaction } from '../store/write-transaction.js';
import { createLruCache } from './lru-cache.js';
import { shouldRefresh } from './should-refresh.js';
import { createSingleFlight } from './single-flight.js';

export interface OAuthTokenRequest {
  /** The Atlassian account the token acts as. */
  accountId: string;
  /** Scopes the caller needs; each must be in the stored grant. Empty or absent = the grant's scopes. */
  scopes?: readonly string[];
}

export interface OAuthIssuedToken {
  accessToken: string;
  tokenType: 'Bearer';
  /** Milliseconds since the epoch. */
  expiresAt: number;
  route: 'oauth';
  /** The grant's scopes (what the token can do), sorted. */
  scopes: string[];
}

export interface OAuthGrantInput {
  accountId: string;
  /** The scopes that were asked for; used when the token response does not list the granted ones. */
  scopes: readonly string[];
  /** From `processTokenResponse` after the authorization-code exchange. Must carry a refresh token. */
  tokens: OAuthTokenSet;
}

export type OAuthRefreshTrigger = 'demand' | 'idle';

export interface OAuthRefreshInfo {
  clientId: string;
  accountId: string;
  trigger: OAuthRefreshTrigger;
  outcome: 'ok' | 'error';
  /** GatewayError code when outcome is 'error'. */
  code?: string;
  /** Token-endpoint calls this refresh made (retries included). */
  attempts: number;
}

export interface OAuthInvalidGrantInfo {
  clientId: string;
  accountId: string;
  /** `refresh_token_invalid` | `token_expired_or_revoked` | `invalid_grant` (from processTokenResponse). */
  reason: string;
}

export interface IdleRefreshResult {
  /** Stored grants whose refresh token had not been rotated for `idleForMs`. */
  checked: number;
  refreshed: number;
  /** Another process (or a user request) refreshed it meanwhile, or it was revoked. */
  skipped: number;
  /** Atlassian answered invalid_grant: tokens deleted, onInvalidGrant called. */
  reauthRequired: number;
  /** Anything else (Atlassian down, store trouble); logged, retried on the next run. */
  failed: number;
}

export interface OAuthBrokerStats {
  /** Successful refresh-token grants made by this process. */
  refreshes: number;
  refreshFailures: number;
  invalidGrants: number;
  /** Answered from the in-memory cache. */
  hits: number;
  /** Answered from an access token in the store (another process or an earlier run obtained it). */
  storeHits: number;
  /** Took the lock, then found that another process had refreshed already. */
  reusedAfterLock: number;
  misses: number;
}

export interface IdleRefresher {
  /** Stops scheduling; resolves when a run in progress has finished. */
  stop(): Promise<void>;
}

export interface OAuthTokenBroker {
  /** After a code exchange: stores the refresh and access tokens (sealed) in one transaction, replacing any earlier grant of the account. */
  storeGrant(input: OAuthGrantInput): Promise<OAuthIssuedToken>;
  /** A valid access token: memory cache → stored access token → refresh (single-flight, cross-process lock). */
  tokenFor(req: OAuthTokenRequest): Promise<OAuthIssuedToken>;
  /** Forgets an access token Atlassian answered 401 to (cache and store), so the next call refreshes. */
  invalidate(req: Pick<OAuthTokenRequest, 'accountId'>, accessToken?: string): Promise<void>;
  /** Deletes the account's stored tokens and cache entry at once; returns the number of rows deleted. */
  revoke(req: Pick<OAuthTokenRequest, 'accountId'>): Promise<number>;
  /** The background job body: refreshes every grant whose refresh token has not been rotated for `idleForMs`. */
  refreshIdle(input: { idleForMs: number; limit?: number }): Promise<IdleRefreshResult>;
  /**
   * Calls refreshIdle `firstRunAfterMs` after start (default: `intervalMs`), then every `intervalMs`
   * (timers unref'ed; runs never overlap).
   */
  startIdleRefresher(input: { intervalMs: number; idleForMs: number; firstRunAfterMs?: number; onResult?: (r: IdleRefreshResult) => void }): IdleRefresher;
  readonly cacheSize: number;
  readonly stats: Readonly<OAuthBrokerStats>;
}

export interface OAuthTokenBrokerDeps {
  store: Store;
  repos: Pick<Repositories, 'tokens'>;
  endpoints: Pick<AtlassianEndpoints, 'tokenUrl'>;
  fetch: FetchLike;
  clock: Clock;
  logger: Logger;
  /** Backoff between retries; injected so tests never wait in real time. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Told about every refresh, after it committed (or failed). Never receives a token. */
  onRefresh?: (info: OAuthRefreshInfo) => void;
  /** Told after a consent's tokens (from the authorization code) are stored: a token was minted. Never receives a token. */
  onGrantStored?: (info: { clientId: string; accountId: string }) => void;
  /** Atlassian refused the refresh token: the tokens are already deleted; mark the links `reauth_required`. */
  onInvalidGrant?: (info: OAuthInvalidGrantInfo) => void | Promise<void>;
  /** Told about every lookup: answered from the in-memory cache or not (metrics). */
  onLookup?: (hit: boolean) => void;
  /**
   * Test seam: runs after the token endpoint answered with a rotated token and before it is committed,
   * under the lease. A throw (or a dead process) commits nothing and keeps the old token.
   */
  beforeCommit?: (info: { accountId: string }) => void | Promise<void>;
}

export interface OAuthTokenBrokerOptions {
  clientId: string;
  clientSecret: string;
  /** Access tokens are replaced this long before they expire. */
  refreshSkewMs: number;
  cacheMaxEntries: number;
  /** Total tries of a refresh that fails with a retryable error (5xx, 429, timeout, network, lock wait). Default 3. */
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Per token-endpoint call (default 10 s). The refresh lease lasts this plus 5 s per attempt. */
  refreshTimeoutMs?: number;
  /** How long to wait for another process's refresh lock (default 15 s). */
  lockWaitMs?: number;
  /** Test seam for the lock's poll pause on SQLite (default: a real timer). */
  lockSleep?: (ms: number) => Promise<void>;
}

interface CachedToken {
  token: OAuthIssuedToken;
}

type LockedOutcome =
  | { kind: 'refreshed'; token: OAuthIssuedToken }
  | { kind: 'fresh'; token: OAuthIssuedToken }
  | { kind: 'not_needed' }
  | { kind: 'missing' }
  | { kind: 'invalid_grant'; reason: string; error: GatewayError };

const LEASE_MARGIN_MS = 5_000;
const ACCOUNT_ID = /^[A-Za-z0-9:_-]{1,128}$/;
const SCOPE = /^[\x21-\x7e]{1,200}$/;

/** Scopes as the store keys them: trimmed, de-duplicated, sorted, space-joined. */
export function oauthScopeKey(scopes: readonly string[]): string {
  return [...new Set(scopes.map((s) => s.trim()).filter((s) => s !== ''))].sort().join(' ');
}

function scopesOf(scopeKey: string): string[] {
  return scopeKey === '' ? [] : scopeKey.split(' ');
}

/**
 * User tokens by OAuth 2.0 (3LO), protocol doc §5. The refresh token rotates on every use and a used one
 * only survives Atlassian's 10-minute reuse leeway, so it is handled like a baton:
 * - one grant per (client id, account) in the store: refresh token and latest access token, both sealed;
 * - a refresh runs single-flight in the process, then under a cross-process lease (`withRefreshLock`, which
 *   holds no database connection), re-reads the stored tokens after taking it (another process may have
 *   refreshed already: then its access token is used), calls the token endpoint, and then writes the rotated
 *   refresh token and the new access token in one short transaction (compare-and-set on the refresh token's
 *   row and version). A crash before the commit leaves the old refresh token in place, which Atlassian still
 *   honours within the leeway;
 * - an access token reported through `invalidate` (Confluence answered 401) is marked dead in the store and
 *   never handed out again by this process, so every instance refreshes once, under the same lease;
 * - `invalid_grant` deletes the account's tokens, tells `onInvalidGrant`, and throws REAUTH_REQUIRED; it is
 *   never retried. 5xx/429/timeouts are retried with backoff and jitter, then ATLASSIAN_UNAVAILABLE.
 * Keys carry every tenant dimension: route `oauth`, the client id (app), tenant key `''` (a 3LO grant spans
 * every site of the consent), the account, and the grant's scope set.
 */
export function createOAuthTokenBroker(deps: OAuthTokenBrokerDeps, options: OAuthTokenBrokerOptions): OAuthTokenBroker {
  validateOptions(options);
  const { clientId } = options;
  const cache = createLruCache<CachedToken>({ maxEntries: options.cacheMaxEntries });
  const flights = createSingleFlight<OAuthIssuedToken>();
  const stats: OAuthBrokerStats = { refreshes: 0, refreshFailures: 0, invalidGrants: 0, hits: 0, storeHits: 0, reusedAfterLock: 0, misses: 0 };
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = deps.random ?? Math.random;
  const maxAttempts = options.maxAttempts ?? 3;
  const refreshTimeoutMs = options.refreshTimeoutMs ?? 10_000;
  // The lease outlasts one attempt's token call (aborted at refreshTimeoutMs) with a margin for the reads
  // and the commit around it; a holder that dies blocks the others for no longer than this.
  const lockOptions = {
    waitMs: options.lockWaitMs ?? 15_000,
    leaseMs: refreshTimeoutMs + LEASE_MARGIN_MS,
    clock: deps.clock,
    ...(options.lockSleep ? { sleep: options.lockSleep } : {}),
  };
  // Bumped by revoke/storeGrant/invalid_grant: a refresh in flight at that moment must not re-fill the cache.
  const generations = new Map<string, number>();
  // The last access token per account that Atlassian answered 401 to (reported through `invalidate`).
  const rejected = createLruCache<string>({ maxEntries: options.cacheMaxEntries });

  /** Cache, single-flight and lock key: route, app, tenant ('' for 3LO), account. One grant per account. */
  const accountKey = (accountId: string) => `oauth\u0000${clientId}\u0000\u0000${accountId}`;
  const tokenKey = (accountId: string, kind: 'access' | 'refresh', scopeKey: string): TokenKey => ({
    route: 'oauth',
    appKey: clientId,
    tenantKey: '',
    accountId,
    kind,
    scopeKey,
  });
  const generation = (key: string) => generations.get(key) ?? 0;
  const bump = (key: string) => generations.set(key, generation(key) + 1);

  const issued = (accessToken: string, expiresAt: number, scopeKey: string): OAuthIssuedToken => ({
    accessToken,
    tokenType: 'Bearer',
    expiresAt,
    route: 'oauth',
    scopes: scopesOf(scopeKey),
  });
  const isFresh = (t: StoredToken | undefined): t is StoredToken & { expiresAt: number } =>
    t !== undefined && t.expiresAt !== null && !shouldRefresh({ expiresAt: t.expiresAt }, deps.clock.now(), options.refreshSkewMs).refresh;

  function checkAccount(accountId: string): void {
    if (!ACCOUNT_ID.test(accountId)) {
      throw new GatewayError('VALIDATION_FAILED', 'accountId must be an Atlassian account ID (letters, digits, ":", "_", "-").', { details: { field: 'accountId' } });
    }
  }

  function checkScopes(requested: readonly string[] | undefined): string[] {
    const list = requested ?? [];
    for (const s of list) {
      if (!SCOPE.test(s.trim())) throw new GatewayError('VALIDATION_FAILED', 'Each scope must be 1-200 printable characters without spaces.', { details: { field: 'scopes' } });
    }
    return scopesOf(oauthScopeKey(list));
  }

  function ensureCovers(token: OAuthIssuedToken, requested: string[], accountId: string): OAuthIssuedToken {
    const missing = requested.filter((s) => !token.scopes.includes(s));
    if (missing.length > 0) {
      throw new GatewayError('SCOPE_NOT_ALLOWED', `Account ${accountId} did not grant ${missing.join(', ')}; ask the user to consent again with those scopes.`, {
        details: { accountId, missing, granted: token.scopes },
      });
    }
    return token;
  }

  function grantMissing(accountId: string): GatewayError {
    return new GatewayError('REAUTH_REQUIRED', `No OAuth grant is stored for account ${accountId}; the user must connect (consent) again.`, {
      details: { accountId, reason: 'grant_missing' },
    });
  }

  function notify(info: Omit<OAuthRefreshInfo, 'clientId'>): void {
    try {
      deps.onRefresh?.({ clientId, ...info });
    } catch (e) {
      deps.logger.warn({ err: e }, 'onRefresh hook failed');
    }
  }

  /** The account's stored grant: its scope key, refresh token and access token (short reads, no lock). */
  async function readGrant(accountId: string): Promise<{ scopeKey: string; refresh: StoredToken; access: StoredToken | undefined } | undefined> {
    const scopeKey = await findGrant(accountId);
    if (scopeKey === undefined) return undefined;
    const refresh = await deps.repos.tokens.get(tokenKey(accountId, 'refresh', scopeKey));
    if (!refresh) return undefined;
    return { scopeKey, refresh, access: await deps.repos.tokens.get(tokenKey(accountId, 'access', scopeKey)) };
  }

  /** Did the refresh token stay what it was when read (same row, same version)? Inside a write transaction. */
  async function unchanged(tokens: TokensRepo, refresh: StoredToken): Promise<boolean> {
    const current = await tokens.get(refresh);
    return current !== undefined && current.id === refresh.id && current.version === refresh.version;
  }

  function concurrentUpdate(accountId: string): GatewayError {
    // Only a write outside the lease (revoke, a new consent, a holder whose lease ran out) gets here. The
    // next attempt re-reads, and finds the other writer's fresh token or no grant.
    return new GatewayError('CONFLICT', `The stored OAuth tokens of account ${accountId} changed during a refresh.`, {
      details: { accountId, reason: 'concurrent_update', retryable: true },
    });
  }

  /**
   * One refresh under the lease, retried on retryable failures (each attempt takes the lease again and
   * re-reads, so it is never held across a backoff pause). `needed` decides, after the re-read, whether
   * the refresh token must really be used now. No database connection is held during the token call: the
   * rotated tokens are committed afterwards in one short transaction, compare-and-set on the refresh
   * token's row and version.
   */
  async function refreshLocked(accountId: string, trigger: OAuthRefreshTrigger, needed: (refresh: StoredToken, access: StoredToken | undefined) => boolean): Promise<LockedOutcome> {
    const lockKey = accountKey(accountId);
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await withRefreshLock(
          deps.store,
          lockKey,
          async (): Promise<LockedOutcome> => {
            const grant = await readGrant(accountId);
            if (!grant) return { kind: 'missing' };
            const { scopeKey, refresh, access } = grant;
            if (!needed(refresh, access)) {
              return isFresh(access) ? { kind: 'fresh', token: issued(access.token, access.expiresAt, scopeKey) } : { kind: 'not_needed' };
            }
            const response = await refreshTokenRequest({
              tokenEndpoint: deps.endpoints.tokenUrl,
              clientId,
              clientSecret: options.clientSecret,
              refreshToken: refresh.token,
              fetch: deps.fetch,
              signal: AbortSignal.timeout(refreshTimeoutMs),
            });
            let set: OAuthTokenSet;
            try {
              set = await processTokenResponse(response, deps.clock);
            } catch (e) {
              if (isGatewayError(e, 'INVALID_GRANT')) {
                // Only if the refused token is still the stored one: otherwise another writer replaced it.
                const deleted = await writeTransaction(deps.store, async (tx) => {
                  const tokens = deps.repos.tokens.inTransaction(tx);
                  if (!(await unchanged(tokens, refresh))) return false;
                  await tokens.deleteForAccount('oauth', clientId, accountId);
                  return true;
                });
                if (!deleted) throw concurrentUpdate(accountId);
                return { kind: 'invalid_grant', reason: String(e.details?.['reason'] ?? 'invalid_grant'), error: e };
              }
              throw e;
            }
            await deps.beforeCommit?.({ accountId });
            const rotated = set.refreshToken !== undefined && set.refreshToken !== refresh.token;
            const committed = await writeTransaction(deps.store, async (tx) => {
              const tokens = deps.repos.tokens.inTransaction(tx);
              if (!(await unchanged(tokens, refresh))) return false;
              const wroteRefresh = await tokens.put(
                tokenKey(accountId, 'refresh', scopeKey),
                rotated ? { token: set.refreshToken ?? refresh.token, previousToken: refresh.token, expiresAt: null } : { token: refresh.token, previousToken: refresh.previousToken, expiresAt: null },
                { expectVersion: refresh.version },
              );
              if (!wroteRefresh) return false;
              // The access row is not compare-and-set: an invalidation (a 401 seen by any instance) may have
              // marked the old token meanwhile, and the refresh row above already decided who wins. `put`
              // re-reads the version each time, so a second try wins over an invalidation that just landed.
              for (let i = 0; i < 3; i++) {
                if (await tokens.put(tokenKey(accountId, 'access', scopeKey), { token: set.accessToken, expiresAt: set.expiresAt })) return true;
              }
              throw concurrentUpdate(accountId);
            });
            if (!committed) throw concurrentUpdate(accountId);
            return { kind: 'refreshed', token: issued(set.accessToken, set.expiresAt, scopeKey) };
          },
          lockOptions,
        );
        if (outcome.kind === 'refreshed') {
          stats.refreshes++;
          notify({ accountId, trigger, outcome: 'ok', attempts: attempt });
        } else if (outcome.kind === 'invalid_grant') {
          stats.refreshFailures++;
          notify({ accountId, trigger, outcome: 'error', code: 'INVALID_GRANT', attempts: attempt });
        }
        return outcome;
      } catch (e) {
        const retryable = isGatewayError(e) && e.details?.['retryable'] === true;
        if (!retryable || attempt >= maxAttempts) {
          stats.refreshFailures++;
          notify({ accountId, trigger, outcome: 'error', code: isGatewayError(e) ? e.code : 'INTERNAL', attempts: attempt });
          if (retryable && (isGatewayError(e, 'ATLASSIAN_UNAVAILABLE') || isGatewayError(e, 'ATLASSIAN_TIMEOUT'))) {
            throw new GatewayError(e.code, `Atlassian's token service did not answer a refresh for account ${accountId} after ${attempt} attempt(s).`, {
              details: { accountId, attempts: attempt, reason: String(e.details?.['reason'] ?? 'unavailable') },
              cause: e,
            });
          }
          throw e;
        }
        const retryAfterMs = isGatewayError(e) && typeof e.details?.['retryAfterMs'] === 'number' ? (e.details['retryAfterMs'] as number) : undefined;
        const wait = retryDelay({ attempt, retryAfterMs, baseMs: options.retryBaseMs ?? 200, maxMs: options.retryMaxMs ?? 10_000, random });
        deps.logger.warn({ err: e, attempt, waitMs: wait, accountId, clientId }, 'OAuth refresh failed; retrying');
        await sleep(wait);
      }
    }
  }

  /** The scope key of the account's stored grant (non-secret columns only; no decryption). */
  async function findGrant(accountId: string): Promise<string | undefined> {
    const row = await deps.store.db
      .selectFrom('tokens')
      .select(['scope_key'])
      .where('route', '=', 'oauth')
      .where('app_key', '=', clientId)
      .where('tenant_key', '=', '')
      .where('account_id', '=', accountId)
      .where('kind', '=', 'refresh')
      .orderBy('updated_at', 'desc')
      .executeTakeFirst();
    return row?.scope_key;
  }

  /** After a committed invalid_grant: forget, tell the caller, and throw REAUTH_REQUIRED. */
  async function reauth(accountId: string, outcome: Extract<LockedOutcome, { kind: 'invalid_grant' }>): Promise<never> {
    const key = accountKey(accountId);
    bump(key);
    cache.delete(key);
    stats.invalidGrants++;
    deps.logger.warn({ accountId, clientId, reason: outcome.reason }, 'OAuth refresh token refused (invalid_grant); tokens deleted, re-consent required');
    try {
      await deps.onInvalidGrant?.({ clientId, accountId, reason: outcome.reason });
    } catch (e) {
      deps.logger.error({ err: e, accountId }, 'onInvalidGrant hook failed');
    }
    throw new GatewayError('REAUTH_REQUIRED', `Atlassian no longer accepts the refresh token of account ${accountId}; the user must connect (consent) again.`, {
      details: { accountId, reason: outcome.reason },
      cause: outcome.error,
    });
  }

  async function obtain(accountId: string): Promise<OAuthIssuedToken> {
    const key = accountKey(accountId);
    const gen = generation(key);
    const refused = rejected.get(key);
    const remember = (token: OAuthIssuedToken) => {
      if (generation(key) === gen && token.accessToken !== rejected.get(key)) cache.set(key, { token });
      return token;
    };
    // A token Atlassian answered 401 to is never handed out again, even while the store (or a clock that
    // disagrees with Atlassian's) still calls it fresh: the 401 decides, not `expiresAt`.
    const usable = (t: StoredToken | undefined): t is StoredToken & { expiresAt: number } => isFresh(t) && t.token !== refused;
    const scopeKey = await findGrant(accountId);
    if (scopeKey === undefined) throw grantMissing(accountId);
    const stored = await deps.repos.tokens.get(tokenKey(accountId, 'access', scopeKey));
    if (usable(stored)) {
      stats.storeHits++;
      return remember(issued(stored.token, stored.expiresAt, scopeKey));
    }
    const outcome = await refreshLocked(accountId, 'demand', (_refresh, access) => !usable(access));
    switch (outcome.kind) {
      case 'refreshed':
        return remember(outcome.token);
      case 'fresh':
        stats.reusedAfterLock++;
        return remember(outcome.token);
      case 'invalid_grant':
        return reauth(accountId, outcome);
      case 'missing':
      case 'not_needed':
        throw grantMissing(accountId);
    }
  }

  async function refreshIdle(input: { idleForMs: number; limit?: number }): Promise<IdleRefreshResult> {
    if (!Number.isFinite(input.idleForMs) || input.idleForMs < 0) throw new RangeError(`refreshIdle: idleForMs must be >= 0, got ${input.idleForMs}`);
    const cutoff = deps.clock.now() - input.idleForMs;
    const rows = await deps.store.db
      .selectFrom('tokens')
      .select(['account_id'])
      .where('route', '=', 'oauth')
      .where('app_key', '=', clientId)
      .where('tenant_key', '=', '')
      .where('kind', '=', 'refresh')
      .where('updated_at', '<=', cutoff)
      .orderBy('updated_at', 'asc')
      .limit(input.limit ?? 1000)
      .execute();
    const result: IdleRefreshResult = { checked: rows.length, refreshed: 0, skipped: 0, reauthRequired: 0, failed: 0 };
    for (const { account_id: accountId } of rows) {
      const key = accountKey(accountId);
      const gen = generation(key);
      try {
        const outcome = await refreshLocked(accountId, 'idle', (refresh) => refresh.updatedAt <= cutoff);
        if (outcome.kind === 'refreshed') {
          result.refreshed++;
          if (generation(key) === gen) cache.set(key, { token: outcome.token });
        } else if (outcome.kind === 'invalid_grant') {
          result.reauthRequired++;
          await reauth(accountId, outcome).catch(() => undefined);
        } else {
          result.skipped++;
        }
      } catch (e) {
        result.failed++;
        deps.logger.warn({ err: e, accountId, clientId }, 'idle OAuth refresh failed; it is tried again on the next run');
      }
    }
    if (result.checked > 0) deps.logger.info({ clientId, ...result }, 'idle OAuth refresh run');
    return result;
  }

  return {
    async storeGrant(input) {
      checkAccount(input.accountId);
      const { tokens } = input;
      if (tokens.refreshToken === undefined) {
        throw new GatewayError('VALIDATION_FAILED', 'The token response has no refresh token: request the offline_access scope so the link survives the first hour.', {
          details: { field: 'tokens.refreshToken' },
        });
      }
      const refreshToken = tokens.refreshToken;
      const scopeKey = oauthScopeKey(checkScopes(tokens.scopes ?? input.scopes));
      const key = accountKey(input.accountId);
      bump(key);
      cache.delete(key);
      // Under the lease, so it does not land in the middle of a refresh of the old grant (which would then
      // fail its compare-and-set and retry against this one).
      await withRefreshLock(
        deps.store,
        key,
        () =>
          writeTransaction(deps.store, async (tx) => {
            const repo = deps.repos.tokens.inTransaction(tx);
            // One grant per account: a new consent replaces the old one (whatever its scopes).
            await repo.deleteForAccount('oauth', clientId, input.accountId);
            await repo.put(tokenKey(input.accountId, 'refresh', scopeKey), { token: refreshToken, previousToken: null, expiresAt: null });
            await repo.put(tokenKey(input.accountId, 'access', scopeKey), { token: tokens.accessToken, expiresAt: tokens.expiresAt });
          }),
        lockOptions,
      );
      // Again after the commit: a lookup that started while this waited for the lock may carry the old grant.
      bump(key);
      const token = issued(tokens.accessToken, tokens.expiresAt, scopeKey);
      cache.set(key, { token });
      try {
        deps.onGrantStored?.({ clientId, accountId: input.accountId });
      } catch (e) {
        deps.logger.warn({ err: e }, 'onGrantStored hook failed');
      }
      return token;
    },

    async tokenFor(req) {
      checkAccount(req.accountId);
      const requested = checkScopes(req.scopes);
      const key = accountKey(req.accountId);
      const cached = cache.get(key);
      if (cached && !shouldRefresh(cached.token, deps.clock.now(), options.refreshSkewMs).refresh) {
        stats.hits++;
        deps.onLookup?.(true);
        return ensureCovers(cached.token, requested, req.accountId);
      }
      stats.misses++;
      deps.onLookup?.(false);
      let token = await flights.run(key, () => obtain(req.accountId));
      // A flight that started before a 401 was reported may still bring that token back; the caller that
      // saw the 401 must not get it again. The flight it joined is over, so this one starts afresh.
      if (token.accessToken === rejected.get(key)) token = await flights.run(key, () => obtain(req.accountId));
      return ensureCovers(token, requested, req.accountId);
    },

    async invalidate(req, accessToken) {
      checkAccount(req.accountId);
      const key = accountKey(req.accountId);
      if (accessToken !== undefined) rejected.set(key, accessToken);
      const cached = cache.get(key);
      if (cached && (accessToken === undefined || cached.token.accessToken === accessToken)) cache.delete(key);
      const scopeKey = await findGrant(req.accountId);
      if (scopeKey === undefined) return;
      const k = tokenKey(req.accountId, 'access', scopeKey);
      const stored = await deps.repos.tokens.get(k);
      // Only the token that failed: another process may already have stored a fresh one in its place.
      if (stored && (accessToken === undefined || stored.token === accessToken)) {
        await deps.repos.tokens.put(k, { token: stored.token, expiresAt: 0 }, { expectVersion: stored.version });
      }
    },

    async revoke(req) {
      checkAccount(req.accountId);
      const key = accountKey(req.accountId);
      bump(key);
      cache.delete(key);
      return deps.repos.tokens.deleteForAccount('oauth', clientId, req.accountId);
    },

    refreshIdle,

    startIdleRefresher(input) {
      if (!Number.isFinite(input.intervalMs) || input.intervalMs < 1) throw new RangeError(`startIdleRefresher: intervalMs must be >= 1, got ${input.intervalMs}`);
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const firstRunAfterMs = input.firstRunAfterMs ?? input.intervalMs;
      if (!Number.isFinite(firstRunAfterMs) || firstRunAfterMs < 0) throw new RangeError(`startIdleRefresher: firstRunAfterMs must be >= 0, got ${firstRunAfterMs}`);
      let running: Promise<void> = Promise.resolve();
      const schedule = (delayMs: number) => {
        if (stopped) return;
        timer = setTimeout(() => {
          running = refreshIdle({ idleForMs: input.idleForMs })
            .then((r) => input.onResult?.(r))
            .catch((e: unknown) => deps.logger.error({ err: e, clientId }, 'idle OAuth refresh run failed'))
            .finally(() => schedule(input.intervalMs));
        }, delayMs);
        timer.unref();
      };
      schedule(firstRunAfterMs);
      return {
        async stop() {
          stopped = true;
          if (timer) clearTimeout(timer);
          await running;
        },
      };
    },

    get cacheSize() {
      return cache.size;
    },
    stats,
  };
}

function validateOptions(o: OAuthTokenBrokerOptions): void {
  const fail = (message: string) => {
    throw new GatewayError('CONFIG_INVALID', `createOAuthTokenBroker: ${message}`);
  };
  if (typeof o.clientId !== 'string' || o.clientId.trim() === '') fail('clientId is empty; set it to the 3LO app client id from the developer console.');
  if (typeof o.clientSecret !== 'string' || o.clientSecret === '') fail('clientSecret is empty; set it to the 3LO app secret from the developer console.');
  if (!Number.isFinite(o.refreshSkewMs) || o.refreshSkewMs < 0) fail(`refreshSkewMs must be a number >= 0, got ${o.refreshSkewMs}.`);
  if (!Number.isInteger(o.cacheMaxEntries) || o.cacheMaxEntries < 1) fail(`cacheMaxEntries must be a positive integer, got ${o.cacheMaxEntries}.`);
  if (o.maxAttempts !== undefined && (!Number.isInteger(o.maxAttempts) || o.maxAttempts < 1)) fail(`maxAttempts must be an integer >= 1, got ${o.maxAttempts}.`);
  for (const name of ['retryBaseMs', 'retryMaxMs', 'refreshTimeoutMs', 'lockWaitMs'] as const) {
    const v = o[name];
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) fail(`${name} must be a number >= 0, got ${v}.`);
  }
}

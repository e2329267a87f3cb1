import type { MiddlewareHandler } from 'hono';
import type { Clock } from '../../clock.js';
import { GatewayError } from '../../errors.js';
import type { ApiKey, ApiKeysRepo } from '../../store/api-keys-repo.js';

export type ApiKeyVariables = { apiKey: ApiKey };

export interface RateLimitOptions {
  /** Sustained requests per second allowed for one key. */
  perSecond: number;
  /** Requests a key may make at once before the sustained rate applies. */
  burst: number;
}

export const DEFAULT_API_RATE_LIMIT: Readonly<RateLimitOptions> = { perSecond: 1000, burst: 2000 };

interface Bucket {
  tokens: number;
  at: number;
}

export type RateDecision = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

/**
 * A token bucket per API key, on the injected clock (so tests never wait). One per gateway process: with
 * several gateways behind a balancer each enforces its share.
 */
export function createRateLimiter(clock: Clock, options: RateLimitOptions) {
  if (!(options.perSecond > 0) || !(options.burst >= 1)) {
    throw new GatewayError('CONFIG_INVALID', `API rate limit: perSecond must be > 0 and burst >= 1, got ${options.perSecond}/${options.burst}.`);
  }
  const buckets = new Map<string, Bucket>();
  return {
    take(keyId: string): RateDecision {
      const now = clock.now();
      const b = buckets.get(keyId) ?? { tokens: options.burst, at: now };
      b.tokens = Math.min(options.burst, b.tokens + ((now - b.at) / 1000) * options.perSecond);
      b.at = now;
      buckets.set(keyId, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { ok: true, remaining: Math.floor(b.tokens) };
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / options.perSecond)) };
    },
  };
}

const BEARER = /^Bearer[ ]+([\x21-\x7e]{1,512})[ ]*$/i;

/** A refusal and the headers that go with it (the challenge, or when to retry). */
export type ApiKeyRefusal = { error: GatewayError; headers: Readonly<Record<string, string>> };
export type ApiKeyCheck = (authorization: string | undefined) => Promise<ApiKey | ApiKeyRefusal>;

/**
 * `Authorization: Bearer obk_...`: the key is looked up by its hash (revoked keys never match), then the
 * key's rate limit applies. One check per gateway, shared by the Hono middleware and the proxy's own
 * listener (server/api/proxy-listener.ts), so both spend from the same buckets.
 */
export function createApiKeyCheck(deps: { apiKeys: Pick<ApiKeysRepo, 'verify'>; clock: Clock }, options: { rateLimit?: RateLimitOptions } = {}): ApiKeyCheck {
  const limiter = createRateLimiter(deps.clock, options.rateLimit ?? DEFAULT_API_RATE_LIMIT);
  return async (header): Promise<ApiKey | ApiKeyRefusal> => {
    if (!header) {
      return {
        error: new GatewayError('UNAUTHENTICATED', 'Send an API key: Authorization: Bearer <key> (create one with `onbehalf apikeys create --name NAME`).'),
        headers: { 'WWW-Authenticate': 'Bearer realm="onbehalf"' },
      };
    }
    const m = BEARER.exec(header);
    const key = m?.[1] ? await deps.apiKeys.verify(m[1]) : undefined;
    if (!key) {
      return {
        error: new GatewayError('UNAUTHENTICATED', 'The API key is not valid (unknown, malformed or revoked).'),
        headers: { 'WWW-Authenticate': 'Bearer realm="onbehalf", error="invalid_token"' },
      };
    }
    const decision = limiter.take(key.id);
    if (!decision.ok) {
      return {
        error: new GatewayError('RATE_LIMITED', `Too many requests with this API key; retry after ${decision.retryAfterSeconds} s.`, {
          details: { retryAfterSeconds: decision.retryAfterSeconds },
        }),
        headers: { 'Retry-After': String(decision.retryAfterSeconds) },
      };
    }
    return key;
  };
}

export function isApiKeyRefusal(r: ApiKey | ApiKeyRefusal): r is ApiKeyRefusal {
  return 'error' in r;
}

/** The check as Hono middleware: a refusal is thrown (with its headers set); the key is `c.get('apiKey')`. */
export function apiKeyAuth(deps: { apiKeys: Pick<ApiKeysRepo, 'verify'>; clock: Clock } | { check: ApiKeyCheck }, options: { rateLimit?: RateLimitOptions } = {}): MiddlewareHandler<{ Variables: ApiKeyVariables }> {
  const check = 'check' in deps ? deps.check : createApiKeyCheck(deps, options);
  return async (c, next) => {
    const r = await check(c.req.header('authorization'));
    if (isApiKeyRefusal(r)) {
      for (const [name, value] of Object.entries(r.headers)) c.header(name, value);
      throw r.error;
    }
    c.set('apiKey', r);
    await next();
  };
}

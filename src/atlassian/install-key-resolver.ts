import { importSPKI } from 'jose';
import { GatewayError } from '../errors.js';
import { readBodyText, sendRequest, type FetchLike } from './send-request.js';

/** Only this charset: no `/`, no `..`, no `%`, so a kid can never change the key server URL's path. */
export const KID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** A public key usable by `jose` (a CryptoKey from importSPKI). */
export type InstallPublicKey = Awaited<ReturnType<typeof importSPKI>>;

export interface InstallKeyResolver {
  /** The RS256 public key for `kid`, from cache or the key server. */
  getKey(kid: string, options?: { signal?: AbortSignal }): Promise<InstallPublicKey>;
}

export interface InstallKeyResolverOptions {
  /** e.g. `https://connect-install-keys.atlassian.com` (endpoints.installKeysUrl). */
  keyServerUrl: string;
  fetch: FetchLike;
  /** How many keys to keep (least recently used are dropped). Default 16. */
  cacheSize?: number;
}

const MAX_PEM_BYTES = 16 * 1024;

export function isValidKid(kid: unknown): kid is string {
  return typeof kid === 'string' && KID_PATTERN.test(kid) && kid !== '.' && kid !== '..';
}

/**
 * Fetches the PEM public key of signed-install tokens at `<keyServerUrl>/<kid>` and caches it by kid
 * (Atlassian rotates by issuing a new kid, so a cached kid never changes). Concurrent requests for one kid
 * share one fetch. Failures are not cached.
 */
export function createInstallKeyResolver(options: InstallKeyResolverOptions): InstallKeyResolver {
  let base: URL;
  try {
    base = new URL(options.keyServerUrl);
  } catch (e) {
    throw new TypeError(`createInstallKeyResolver: keyServerUrl is not a URL: ${options.keyServerUrl}`, { cause: e });
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw new TypeError('createInstallKeyResolver: keyServerUrl must be an http(s) URL');
  }
  if (base.search !== '' || base.hash !== '') {
    throw new TypeError('createInstallKeyResolver: keyServerUrl must not have a query or fragment');
  }
  const prefix = base.href.replace(/\/+$/, '');
  const cacheSize = options.cacheSize ?? 16;
  if (!Number.isInteger(cacheSize) || cacheSize < 1) {
    throw new RangeError(`createInstallKeyResolver: cacheSize must be a positive integer, got ${cacheSize}`);
  }
  const fetch = options.fetch;
  const cache = new Map<string, InstallPublicKey>();
  const inFlight = new Map<string, Promise<InstallPublicKey>>();

  function remember(kid: string, key: InstallPublicKey): void {
    cache.delete(kid);
    cache.set(kid, key);
    while (cache.size > cacheSize) {
      const oldest = cache.keys().next();
      if (oldest.done === true) break;
      cache.delete(oldest.value);
    }
  }

  async function load(kid: string, signal: AbortSignal | undefined): Promise<InstallPublicKey> {
    const init: RequestInit = { method: 'GET', headers: { accept: 'application/x-pem-file, text/plain, */*' } };
    if (signal !== undefined) init.signal = signal;
    const response = await sendRequest(fetch, `${prefix}/${kid}`, init, 'Install key server');
    if (response.status === 404) {
      await response.body?.cancel().catch(() => undefined);
      throw new GatewayError('INSTALL_SIGNATURE_INVALID', 'The install token names a key id the key server does not know.', {
        details: { reason: 'unknown_kid', kid },
      });
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new GatewayError('ATLASSIAN_UNAVAILABLE', `The install key server answered HTTP ${response.status}.`, {
        details: { reason: 'key_server_error', status: response.status, retryable: response.status >= 500 || response.status === 429 },
      });
    }
    const pem = await readBodyText(response, MAX_PEM_BYTES);
    if (pem === undefined) {
      throw new GatewayError('ATLASSIAN_UNAVAILABLE', 'The install key server sent an oversized key.', {
        details: { reason: 'key_server_bad_key', retryable: false },
      });
    }
    try {
      return await importSPKI(pem.trim(), 'RS256');
    } catch (e) {
      throw new GatewayError('ATLASSIAN_UNAVAILABLE', 'The install key server sent something that is not an RSA public key (PEM).', {
        details: { reason: 'key_server_bad_key', retryable: false },
        cause: e,
      });
    }
  }

  return {
    async getKey(kid, opts = {}) {
      if (!isValidKid(kid)) {
        throw new GatewayError('INSTALL_SIGNATURE_INVALID', 'The install token key id (kid) is missing or has invalid characters.', {
          details: { reason: 'bad_kid' },
        });
      }
      const cached = cache.get(kid);
      if (cached !== undefined) {
        remember(kid, cached);
        return cached;
      }
      let pending = inFlight.get(kid);
      if (pending === undefined) {
        pending = load(kid, opts.signal).then(
          (key) => {
            remember(kid, key);
            return key;
          },
        ).finally(() => inFlight.delete(kid));
        inFlight.set(kid, pending);
      }
      return pending;
    },
  };
}

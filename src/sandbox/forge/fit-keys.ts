import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/**
 * The key set Forge signs invocation tokens with (§10.4, §10.9.1): RS256 keys with a `kid`, published as a
 * JWKS. Rotation makes a new key current while the old one stays published until it is retired, the window in
 * which a remote must refresh its key cache on an unknown `kid`.
 */
export interface FitKeys {
  sign(claims: Record<string, unknown>): Promise<string>;
  jwks(): Promise<{ keys: JWK[] }>;
  rotate(): Promise<{ kid: string; published: string[] }>;
  /** Drops every key but the current one from the JWKS. */
  retireOld(): Promise<{ kid: string; published: string[] }>;
  currentKid(): Promise<string>;
}

interface Entry {
  kid: string;
  privateKey: PrivateKey;
  jwk: JWK;
}

export function createFitKeys(): FitKeys {
  let published: Entry[] = [];
  let current: Promise<Entry> | null = null;
  const make = async (): Promise<Entry> => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
    const kid = `forge-sandbox-${crypto.randomUUID()}`;
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    const entry = { kid, privateKey: privateKey as PrivateKey, jwk };
    published = [...published, entry];
    return entry;
  };
  const get = (): Promise<Entry> => (current ??= make());
  const summary = async () => ({ kid: (await get()).kid, published: published.map((e) => e.kid) });
  return {
    async sign(claims) {
      const e = await get();
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: e.kid }).sign(e.privateKey);
    },
    async jwks() {
      await get();
      return { keys: published.map((e) => e.jwk) };
    },
    async rotate() {
      await get();
      current = make();
      await current;
      return summary();
    },
    async retireOld() {
      const e = await get();
      published = published.filter((p) => p.kid === e.kid);
      return summary();
    },
    currentKid: async () => (await get()).kid,
  };
}

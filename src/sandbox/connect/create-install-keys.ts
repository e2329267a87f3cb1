import { exportSPKI, generateKeyPair, SignJWT } from 'jose';

/** The RSA key pair(s) the sandbox signs `installed`/`uninstalled` callbacks with (signed-install, §2.5). */
export interface InstallKeys {
  /** Signs claims with the current key; the header carries its `kid`. */
  sign(claims: Record<string, unknown>): Promise<{ token: string; kid: string }>;
  /** PEM public key for a kid, or null. */
  publicPem(kid: string): Promise<string | null>;
  /** Make a new key current (old kids keep resolving, like Atlassian's CDN). */
  rotate(): Promise<string>;
  currentKid(): Promise<string>;
}

interface KeyEntry {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  pem: string;
}

export function createInstallKeys(): InstallKeys {
  const keys = new Map<string, KeyEntry>();
  let current: Promise<KeyEntry> | null = null;
  const make = async (): Promise<KeyEntry> => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
    const entry = { kid: crypto.randomUUID(), privateKey, pem: await exportSPKI(publicKey) };
    keys.set(entry.kid, entry);
    return entry;
  };
  const get = (): Promise<KeyEntry> => (current ??= make());
  return {
    async sign(claims) {
      const entry = await get();
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: entry.kid }).sign(entry.privateKey);
      return { token, kid: entry.kid };
    },
    async publicPem(kid) {
      if (current) await current;
      return keys.get(kid)?.pem ?? null;
    },
    async rotate() {
      current = make();
      return (await current).kid;
    },
    currentKid: async () => (await get()).kid,
  };
}

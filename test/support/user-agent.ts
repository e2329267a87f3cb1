/**
 * A minimal browser for in-process flows: keeps cookies per origin and follows nothing by itself, so a
 * test sees every redirect a real browser would take.
 */
export interface UserAgent {
  fetch(url: string, init?: RequestInit): Promise<Response>;
  /** Signs in to the sandbox as a seeded user (its cookie session). */
  signIn(sandboxOrigin: string, accountId: string): Promise<void>;
}

export function createUserAgent(fetchImpl: typeof fetch): UserAgent {
  const jar = new Map<string, Map<string, string>>();
  const ua: UserAgent = {
    async fetch(url, init = {}) {
      const origin = new URL(url).origin;
      const cookies = jar.get(origin);
      const headers = new Headers(init.headers);
      if (cookies && cookies.size > 0) headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
      const res = await fetchImpl(url, { ...init, headers, redirect: 'manual' });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = pair?.indexOf('=') ?? -1;
        if (!pair || eq < 1) continue;
        const m = jar.get(origin) ?? new Map<string, string>();
        m.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
        jar.set(origin, m);
      }
      return res;
    },
    async signIn(sandboxOrigin, accountId) {
      const res = await ua.fetch(`${sandboxOrigin}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ accountId, returnTo: '/' }).toString(),
      });
      if (res.status !== 302) throw new Error(`sign-in answered ${res.status}`);
    },
  };
  return ua;
}

/** Pulls the iframe URL and the context-token URL out of a sandbox host page. */
export function parseHostPage(html: string): { iframeSrc: string; contextTokenUrl: string } {
  const src = /<iframe[^>]*\ssrc="([^"]+)"/.exec(html)?.[1];
  const data = /<script type="application\/json" id="ap-host-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (!src || !data) throw new Error('not a host page');
  const decoded = src.replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"');
  return { iframeSrc: decoded, contextTokenUrl: (JSON.parse(data) as { contextTokenUrl: string }).contextTokenUrl };
}

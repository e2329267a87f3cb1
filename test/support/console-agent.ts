/**
 * A cookie-keeping client for the admin console over `app.request()` or real HTTP: it signs in with the
 * secret, sends the console's Origin on every POST and fills in the CSRF token of the last page it saw,
 * as a browser submitting the console's own forms would.
 */
export interface ConsoleAgent {
  get(path: string): Promise<{ status: number; html: string; location: string | null; res: Response }>;
  /** Posts a form; the CSRF token of the last page seen is added unless `_csrf` is given. */
  post(path: string, fields: Record<string, string | string[]>, options?: { origin?: string | null }): Promise<{ status: number; html: string; location: string | null; res: Response }>;
  signIn(secret: string): Promise<Response>;
  readonly cookie: string | undefined;
  readonly csrf: string | undefined;
}

export function createConsoleAgent(fetchLike: (url: string, init?: RequestInit) => Response | Promise<Response>, baseUrl: string): ConsoleAgent {
  const origin = new URL(baseUrl).origin;
  let cookie: string | undefined;
  let csrf: string | undefined;
  const send = async (path: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetchLike(path.startsWith('http') ? path : `${baseUrl}${path}`, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? '';
      cookie = /Max-Age=0/i.test(line) ? undefined : pair;
    }
    const html = await res.clone().text();
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
    if (token) csrf = token;
    return { status: res.status, html, location: res.headers.get('location'), res };
  };
  const agent: ConsoleAgent = {
    get: (path) => send(path, { method: 'GET' }),
    post(path, fields, options = {}) {
      const body = new URLSearchParams();
      if (!('_csrf' in fields) && csrf) body.append('_csrf', csrf);
      for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
      const text = body.toString();
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(text)) };
      const o = options.origin === undefined ? origin : options.origin;
      if (o !== null) headers['origin'] = o;
      return send(path, { method: 'POST', headers, body: text });
    },
    async signIn(secret) {
      const r = await agent.post('/admin/sign-in', { secret, next: '/admin' });
      if (r.status !== 303) throw new Error(`sign-in answered ${r.status}: ${r.html.slice(0, 300)}`);
      await agent.get('/admin');
      return r.res;
    },
    get cookie() {
      return cookie;
    },
    get csrf() {
      return csrf;
    },
  };
  return agent;
}

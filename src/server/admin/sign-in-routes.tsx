import type { Context, Handler } from 'hono';
import type { RouteDef } from '../routes.js';
import { consoleHeaders, refusalPage } from './admin-auth.js';
import { adminOf, formOf, type AdminDeps } from './admin-deps.js';
import { AdminDocument, adminUrl, CsrfField, Notice } from './admin-layout.js';
import { basePathOf, clientIp, cookiePolicy, isLoopback, readCookie, safeNext, sameOrigin, sameSecret, sessionBinding, setCookieHeader } from './admin-security.js';

/** Failed sign-ins allowed per address, and in all, within the window before sign-in pauses. */
export const SIGN_IN_THROTTLE = { windowMs: 15 * 60_000, perAddress: 10, global: 100 } as const;

/**
 * Sign-in with the configured admin secret, and sign-out. Failures are audited and counted in the
 * database (so every instance sees them); past the limits sign-in pauses for the rest of the window
 * without even checking the secret.
 */
export function signInRoutes(deps: Pick<AdminDeps, 'repos' | 'clock' | 'baseUrl' | 'appName' | 'admin'>): RouteDef[] {
  const basePath = basePathOf(deps.baseUrl);
  const cookie = cookiePolicy(deps.baseUrl);
  const origin = new URL(deps.baseUrl).origin;
  const insecure = new URL(deps.baseUrl).protocol === 'http:' && !isLoopback(deps.baseUrl);
  const binding = deps.admin.secret === null ? '' : sessionBinding(deps.admin.secret);

  const page = (c: Context, status: 200 | 400 | 401 | 403 | 429, opts: { next: string; problem?: string; info?: string }) => {
    consoleHeaders(c);
    return c.html(
      <AdminDocument title={`Sign in · ${deps.appName} admin`} basePath={basePath}>
        <main id="main" class="narrow">
          <h1>{deps.appName} admin console</h1>
          {deps.admin.secret === null ? (
            <Notice kind="warning">
              <p>
                <strong>The admin console is off.</strong> To turn it on, set <code>ONBEHALF_ADMIN_SECRET</code> to a random value of at least 32 characters
                and restart the gateway, for example with the output of:
              </p>
              <p>
                <code>node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"</code>
              </p>
              <p>
                <code>npm start</code> (sandbox mode) does this for you and prints the secret.
              </p>
            </Notice>
          ) : (
            <>
              {insecure ? (
                <Notice kind="warning">
                  <p>This gateway is served over plain http: the secret and the session travel unencrypted. Serve it over https.</p>
                </Notice>
              ) : null}
              {opts.info ? (
                <Notice kind="success">
                  <p>{opts.info}</p>
                </Notice>
              ) : null}
              {opts.problem ? (
                <Notice kind="error">
                  <p>{opts.problem}</p>
                </Notice>
              ) : null}
              <form method="post" action={adminUrl(basePath, '/sign-in')}>
                <input type="hidden" name="next" value={opts.next} />
                <div class="field">
                  <label for="secret">Admin secret</label>
                  <input id="secret" name="secret" type="password" autocomplete="current-password" required spellcheck={false} autofocus />
                  <span class="hint">The value of ONBEHALF_ADMIN_SECRET.</span>
                </div>
                <div class="actions">
                  <button class="button" type="submit">
                    Sign in
                  </button>
                </div>
              </form>
            </>
          )}
        </main>
      </AdminDocument>,
      status,
    );
  };

  const show: Handler = (c) => page(c, 200, { next: safeNext(c.req.query('next'), basePath), ...(c.req.query('signed_out') === '1' ? { info: 'You are signed out.' } : {}) });

  const signIn: Handler = async (c) => {
    if (!sameOrigin(c, origin)) return refusalPage(c, basePath, 403, 'Request refused', 'This sign-in was not sent from the console itself; nothing was done.');
    if (deps.admin.secret === null) return page(c, 403, { next: adminUrl(basePath) });
    const length = Number(c.req.header('content-length') ?? 'NaN');
    if (!Number.isFinite(length) || length > 16 * 1024) return refusalPage(c, basePath, 413, 'Request refused', 'A sign-in form is small; this one was too large or had no length.');
    const form = await formOf(c).catch(() => ({}) as Record<string, string>);
    const next = safeNext(form['next'], basePath);
    const ip = clientIp(c);
    const since = deps.clock.now() - SIGN_IN_THROTTLE.windowMs;
    const failedHere = await deps.repos.audit.count({ action: 'admin.sign_in_failed', actorId: `ip:${ip ?? 'unknown'}`, since });
    const failedAll = failedHere >= SIGN_IN_THROTTLE.perAddress ? failedHere : await deps.repos.audit.count({ action: 'admin.sign_in_failed', since });
    if (failedHere >= SIGN_IN_THROTTLE.perAddress || failedAll >= SIGN_IN_THROTTLE.global) {
      c.header('Retry-After', String(SIGN_IN_THROTTLE.windowMs / 1000));
      return page(c, 429, { next, problem: 'Too many failed sign-ins. Sign-in is paused for up to 15 minutes; the secret was not checked.' });
    }
    const given = form['secret'] ?? '';
    if (given === '' || !sameSecret(given, deps.admin.secret)) {
      await deps.repos.audit.append({ action: 'admin.sign_in_failed', actorType: 'admin', actorId: `ip:${ip ?? 'unknown'}`, reason: given === '' ? 'no_secret' : 'wrong_secret' });
      return page(c, 401, { next, problem: 'That is not the admin secret.' });
    }
    // A fresh session on every sign-in (never one the browser brought along), and the old one ends.
    const old = readCookie(c.req.header('cookie'), cookie.name);
    if (old) await deps.repos.adminSessions.delete(old, binding);
    const { session, token } = await deps.repos.adminSessions.create({ maxAgeMs: deps.admin.sessionMaxMs, clientIp: ip, binding });
    await deps.repos.audit.append({ action: 'admin.signed_in', actorType: 'admin', actorId: `console:${session.id}`, data: { ip } });
    consoleHeaders(c);
    c.header('Set-Cookie', setCookieHeader(cookie, token, deps.admin.sessionMaxMs / 1000));
    return c.redirect(next, 303);
  };

  const signOut: Handler = async (c) => {
    const admin = adminOf(c);
    const token = readCookie(c.req.header('cookie'), cookie.name);
    if (token) await deps.repos.adminSessions.delete(token, binding);
    await deps.repos.audit.append({ action: 'admin.signed_out', actorType: 'admin', actorId: admin.actorId });
    c.header('Set-Cookie', setCookieHeader(cookie, '', 0));
    return c.redirect(`${adminUrl(basePath, '/sign-in')}?signed_out=1`, 303);
  };

  return [
    { method: 'GET', path: '/admin/sign-in', auth: 'public', summary: 'Admin console sign-in page (says how to turn the console on when it is off).', handler: show },
    { method: 'POST', path: '/admin/sign-in', auth: 'public', summary: 'Admin console sign-in with the admin secret (same-origin only, throttled, audited).', handler: signIn },
    { method: 'POST', path: '/admin/sign-out', auth: 'admin', summary: 'Ends the console session (deleted server-side).', handler: signOut },
  ];
}

import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { GatewayError } from '../../errors.js';
import { INTERNAL_CODES } from '../error-status.js';
import type { AdminDeps, AdminRequest } from './admin-deps.js';
import { AdminDocument, adminUrl, Notice } from './admin-layout.js';
import { basePathOf, cookiePolicy, csrfTokenFor, readCookie, sameOrigin, sameSecret, sessionBinding } from './admin-security.js';

/** Forms are small; the largest is a CSV import of at most 1,000 lines. */
export const MAX_FORM_BYTES = 512 * 1024;

/** Headers every console response carries: never cached, Referer kept same-origin (the Origin check needs it). */
export function consoleHeaders(c: Context): void {
  c.header('Cache-Control', 'no-store');
  c.header('Referrer-Policy', 'same-origin');
}

export async function refusalPage(c: Context, basePath: string, status: ContentfulStatusCode, title: string, message: string, signInLink = false): Promise<Response> {
  return c.html(
    <AdminDocument title={title} basePath={basePath}>
      <main id="main" class="narrow">
        <h1>{title}</h1>
        <Notice kind="error">
          <p>{message}</p>
        </Notice>
        <p>{signInLink ? <a href={adminUrl(basePath, '/sign-in')}>Sign in to the console</a> : <a href={adminUrl(basePath)}>Back to the console</a>}</p>
      </main>
    </AdminDocument>,
    status,
  );
}

/**
 * The `admin` auth kind of the route table. A GET without a live session is sent to the sign-in page; a
 * POST without one is 401. Every POST must also come from the console's own origin and carry the
 * session's CSRF token, checked before the handler runs, so a refused request changes nothing.
 */
export function adminAuth(deps: Pick<AdminDeps, 'repos' | 'baseUrl' | 'appName' | 'admin'>): MiddlewareHandler {
  const cookie = cookiePolicy(deps.baseUrl);
  const basePath = basePathOf(deps.baseUrl);
  const origin = new URL(deps.baseUrl).origin;
  const binding = deps.admin.secret === null ? null : sessionBinding(deps.admin.secret);
  return async (c, next) => {
    consoleHeaders(c);
    const reading = c.req.method === 'GET' || c.req.method === 'HEAD';
    if (!reading && !sameOrigin(c, origin)) {
      return refusalPage(c, basePath, 403, 'Request refused', 'This form was not sent from the console itself (its Origin is another site), so nothing was changed.');
    }
    const token = readCookie(c.req.header('cookie'), cookie.name);
    const session = binding !== null && token ? await deps.repos.adminSessions.verify(token, { idleMs: deps.admin.sessionIdleMs, binding }) : undefined;
    if (!session || !token) {
      if (reading) {
        const url = new URL(c.req.url);
        return c.redirect(`${adminUrl(basePath, '/sign-in')}?next=${encodeURIComponent(`${basePath}${url.pathname}${url.search}`)}`, 303);
      }
      return refusalPage(c, basePath, 401, 'Signed out', 'Your console session has ended (or never began); nothing was changed. Sign in again.', true);
    }
    const csrf = csrfTokenFor(token);
    if (!reading) {
      const length = Number(c.req.header('content-length') ?? 'NaN');
      if (!Number.isFinite(length)) return refusalPage(c, basePath, 411, 'Request refused', 'The form was sent without a length; nothing was changed.');
      if (length > MAX_FORM_BYTES) return refusalPage(c, basePath, 413, 'Request refused', `The form is larger than ${MAX_FORM_BYTES / 1024} KiB; nothing was changed.`);
      const body = await c.req.parseBody();
      const given = typeof body['_csrf'] === 'string' ? body['_csrf'] : '';
      if (!sameSecret(given, csrf)) {
        return refusalPage(c, basePath, 403, 'Request refused', 'The form had no valid security token (it may come from another site, or from a page older than your session). Nothing was changed; reload the page and try again.');
      }
    }
    const request: AdminRequest = {
      session,
      actorId: `console:${session.id}`,
      frame: { basePath, csrf, appName: deps.appName, sessionLabel: session.id.slice(0, 8) },
    };
    c.set('admin', request);
    await next();
    // Errors thrown by a page become a page, not the API's JSON envelope.
    if (c.error) {
      const e = c.error;
      const known = e instanceof GatewayError && !INTERNAL_CODES.has(e.code);
      const status = (c.res.status >= 400 ? c.res.status : 500) as ContentfulStatusCode;
      const requestId = c.get('requestId') as string | undefined;
      const page = await refusalPage(c, basePath, status, known ? 'That did not work' : 'Something went wrong', known ? e.message : `Something went wrong inside the gateway; the log has the details${requestId ? ` under request id ${requestId}` : ''}.`);
      // Replace, not merge: the JSON response's headers must not leak onto the page.
      c.res = undefined as unknown as Response;
      c.res = page;
      consoleHeaders(c);
    }
  };
}

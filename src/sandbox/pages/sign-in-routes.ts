import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { SandboxDeps } from '../sandbox-deps.js';
import { endSession, safeReturnTo, sessionUser, startSession } from './session.js';
import { readForm } from '../oauth/oauth-error.js';
import { SANDBOX_HEAD } from './page-head.js';

/** A sign-in page where you pick a seeded (active, non-app) user; sets a cookie session. */
export function registerSignInRoutes(deps: SandboxDeps, app: Hono): void {
  app.get('/login', (c) => {
    const returnTo = safeReturnTo(c.req.query('returnTo'));
    const current = sessionUser(deps, c);
    const users = [...deps.state.users.values()].filter((u) => u.accountStatus === 'active' && u.accountType !== 'app');
    return c.html(html`<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in - onbehalf sandbox</title>${SANDBOX_HEAD}</head>
<body>
<h1>Sign in to the Atlassian sandbox</h1>
${current ? html`<p>Signed in as <strong>${current.displayName}</strong>.</p>` : ''}
<form method="post" action="/login">
<input type="hidden" name="returnTo" value="${returnTo}">
<ul>
${users.map((u) => html`<li><button type="submit" name="accountId" value="${u.accountId}" data-account-id="${u.accountId}">${u.displayName}</button> <small>${u.email}</small></li>`)}
</ul>
</form>
</body></html>`);
  });

  app.post('/login', async (c) => {
    const form = await readForm(c);
    const accountId = form.get('accountId') ?? '';
    const user = deps.state.users.get(accountId);
    if (!user || user.accountStatus !== 'active' || user.accountType === 'app') return c.text('Unknown or inactive user', 400);
    startSession(deps, c, accountId);
    return c.redirect(safeReturnTo(form.get('returnTo') ?? undefined), 302);
  });

  app.post('/logout', async (c) => {
    endSession(deps, c);
    // "Switch user" in the Confluence view comes back to the page it was on once someone else signed in.
    const returnTo = (await readForm(c)).get('returnTo');
    return c.redirect(returnTo ? `/login?returnTo=${encodeURIComponent(safeReturnTo(returnTo))}` : '/login', 302);
  });
}

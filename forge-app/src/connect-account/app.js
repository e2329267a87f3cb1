import { router, view } from '@forge/bridge';
import { callGateway, el, notice, sinceLabel } from '../common/ui.js';

/**
 * "Connect your account": the Forge counterpart of the Connect consent page. Everything it shows comes from
 * the gateway, which trusts only the invocation token Forge attaches (who is looking, on which site, from
 * which page); nothing this script says about the user counts there.
 *
 * A link session reaches the page as `?session=<token>` in its URL. A global page's own part of the URL
 * (what follows its route, and the query) is what `view.createHistory()` reports.
 */

const root = document.getElementById('root');
let history = null;

async function sessionToken() {
  try {
    history = await view.createHistory();
    return new URLSearchParams(history.location.search || '').get('session');
  } catch {
    return null;
  }
}

function show(...nodes) {
  root.replaceChildren(...nodes.filter(Boolean));
  root.setAttribute('aria-busy', 'false');
  document.body.dataset.ready = 'true';
}

function linksSection(links, appName) {
  const list = links.length
    ? el(
        'ul',
        { class: 'links', id: 'links' },
        links.map((l) =>
          el(
            'li',
            { 'data-link-id': l.id, 'data-status': l.status },
            el('span', {}, 'Connected as ', el('code', {}, l.externalUserId), ` since ${sinceLabel(l.since)}`, l.statusLabel ? el('span', { class: 'muted' }, ` · ${l.statusLabel}`) : null),
            el('button', { class: 'danger disconnect', type: 'button', onclick: (e) => disconnect(l.id, e.currentTarget) }, 'Disconnect'),
          ),
        ),
      )
    : el('p', { class: 'muted', id: 'no-links' }, `${appName} cannot act as you on this site.`);
  return [el('h2', {}, 'Your connections'), list];
}

function render(state, token) {
  const who = state.account.displayName ? `${state.account.displayName}` : state.account.accountId;
  const parts = [
    el('h1', { id: 'title' }, `Connect your account to ${state.appName}`),
    el('p', {}, 'You are signed in as ', el('strong', { id: 'who' }, who), ` on ${state.site.label}.`),
  ];
  if (state.problem) parts.push(notice('error', state.problem.title, state.problem.message, state.problem.next));
  if (state.done) parts.push(notice('success', 'Already decided', `You already connected this account for ${state.done.externalUserId}.`));
  if (state.session) {
    parts.push(
      el('p', { id: 'request' }, `${state.appName} asks to act as you in Confluence for its user `, el('code', { id: 'external-user' }, state.session.externalUserId), '. If you allow it, it can:'),
      el('ul', { id: 'actions' }, state.actions.map((a) => el('li', {}, a))),
      el('p', { class: 'muted' }, 'It can never do more than you can do yourself, and you can disconnect it here at any time.'),
      el(
        'div',
        { class: 'actions', id: 'decision' },
        el('button', { class: 'primary', id: 'allow', type: 'button', onclick: () => decide(token, 'allow') }, 'Allow'),
        el('button', { id: 'deny', type: 'button', onclick: () => decide(token, 'deny') }, 'Deny'),
      ),
    );
  } else if (!state.problem && !state.done) {
    parts.push(notice('info', 'Nothing to approve right now', `To connect your account, start from ${state.appName}: it sends you a link that opens this page with its request.`));
  }
  parts.push(el('div', { id: 'outcome' }), ...linksSection(state.links, state.appName));
  show(...parts);
}

function fail(e) {
  const box = document.getElementById('outcome');
  const n = notice('error', e.title || 'Something went wrong', e.message, e.next);
  if (box) box.replaceChildren(n);
  else show(el('h1', { id: 'title' }, 'Connect your account'), n);
  root.setAttribute('aria-busy', 'false');
  document.body.dataset.ready = 'true';
}

async function decide(token, decision) {
  for (const b of document.querySelectorAll('#decision button')) b.disabled = true;
  try {
    const out = await callGateway('/forge/ui/decide', { session: token, decision });
    // The token is spent: take it out of the address bar so a reload or a shared URL does not carry it.
    if (history) history.replace({ pathname: '/', search: '' });
    document.getElementById('decision')?.remove();
    const box = document.getElementById('outcome');
    const kind = out.status === 'denied' ? 'info' : 'success';
    // replaceChildren() would write a null as the text "null": only real nodes go in.
    const back = out.redirectUrl ? [el('div', { class: 'actions' }, el('button', { class: 'primary', id: 'return', type: 'button', onclick: () => router.navigate(out.redirectUrl) }, out.returnLabel || 'Return to the application'))] : [];
    box.replaceChildren(notice(kind, out.title, out.message, out.next), ...back);
    document.body.dataset.decided = out.status;
    const state = await callGateway('/forge/ui/state', {});
    const section = linksSection(state.links, state.appName);
    document.querySelector('#links, #no-links')?.replaceWith(section[1]);
  } catch (e) {
    for (const b of document.querySelectorAll('#decision button')) b.disabled = false;
    fail(e);
  }
}

async function disconnect(linkId, button) {
  button.disabled = true;
  try {
    await callGateway('/forge/ui/disconnect', { linkId });
    const state = await callGateway('/forge/ui/state', {});
    document.querySelector('#links, #no-links')?.replaceWith(linksSection(state.links, state.appName)[1]);
    document.getElementById('outcome')?.replaceChildren(notice('info', 'Disconnected', `${state.appName} can no longer act as you for that user.`));
  } catch (e) {
    button.disabled = false;
    fail(e);
  }
}

async function start() {
  const token = await sessionToken();
  try {
    render(await callGateway('/forge/ui/state', token ? { session: token } : {}), token);
  } catch (e) {
    fail(e);
  }
}

start();

import { callGateway, el, notice, sinceLabel } from '../common/ui.js';

/**
 * The site admin's page (Confluence global settings): the site's acting policy and the admin mapping of
 * accounts to the application's users. The gateway re-checks on every call that the caller is a site admin
 * calling from this very module; this page only shows what it is told.
 */

const root = document.getElementById('root');
let state = null;

function flash(kind, title, message, next) {
  document.getElementById('outcome')?.replaceChildren(notice(kind, title, message, next));
}

function fail(e) {
  if (!state) {
    root.replaceChildren(el('h1', { id: 'title' }, 'Acting on behalf of users'), el('div', { id: 'outcome' }, notice('error', e.title || 'Something went wrong', e.message, e.next)));
    root.setAttribute('aria-busy', 'false');
    document.body.dataset.ready = 'true';
  } else flash('error', e.title || 'Something went wrong', e.message, e.next);
}

async function run(button, fn) {
  if (button) button.disabled = true;
  try {
    await fn();
  } catch (e) {
    fail(e);
  } finally {
    if (button) button.disabled = false;
  }
}

function policySection() {
  const select = el('select', { id: 'acting', name: 'acting' }, state.actingModes.map((m) => el('option', { value: m.value, selected: m.value === state.acting }, m.label)));
  const save = el('button', { class: 'primary', id: 'save-policy', type: 'button', onclick: (e) => run(e.currentTarget, async () => {
    const out = await callGateway('/forge/admin/policy', { acting: select.value });
    state.acting = out.acting;
    flash('success', 'Policy saved', `${state.appName} now follows “${state.actingModes.find((m) => m.value === out.acting)?.label ?? out.acting}” on this site.`);
  }) }, 'Save policy');
  return [el('h2', {}, 'Whom the application may act as'), el('label', { for: 'acting' }, 'Policy for this site'), select, el('div', { class: 'actions' }, save)];
}

function mappingSection() {
  const q = el('input', { id: 'search-q', type: 'search', placeholder: 'Name or email', autocomplete: 'off' });
  const results = el('ul', { id: 'search-results', class: 'links' });
  const account = el('input', { id: 'account-id', placeholder: 'Atlassian account ID', autocomplete: 'off' });
  const external = el('input', { id: 'external-user-id', placeholder: "The application's user ID", autocomplete: 'off' });
  const search = el('button', { id: 'search', type: 'button', onclick: (e) => run(e.currentTarget, async () => {
    const out = await callGateway('/forge/admin/search', { q: q.value });
    results.replaceChildren(...(out.users.length ? out.users.map((u) => el('li', {}, el('span', {}, u.displayName, ' ', el('code', {}, u.accountId), u.linkedTo ? el('span', { class: 'muted' }, ` · linked to ${u.linkedTo}`) : null), el('button', { type: 'button', class: 'choose', onclick: () => { account.value = u.accountId; external.focus(); } }, 'Choose'))) : [el('li', { class: 'muted' }, 'No user matches.')]));
  }) }, 'Search');
  const map = el('button', { class: 'primary', id: 'map', type: 'button', onclick: (e) => run(e.currentTarget, async () => {
    const out = await callGateway('/forge/admin/map', { accountId: account.value.trim(), externalUserId: external.value.trim() });
    flash('success', 'Mapped', `The account is now linked to ${external.value.trim()} (${out.status}).`);
    account.value = '';
    external.value = '';
    await reloadLinks();
  }) }, 'Map account');
  return [
    el('h2', {}, 'Map an account to one of your users'),
    el('p', { class: 'muted' }, 'Find the person, choose their account, and give the ID your application knows them by.'),
    el('label', { for: 'search-q' }, 'Find a user on this site'), q, el('div', { class: 'actions' }, search), results,
    el('label', { for: 'account-id' }, 'Atlassian account'), account,
    el('label', { for: 'external-user-id' }, 'Your user ID'), external,
    el('div', { class: 'actions' }, map),
  ];
}

function linksTable() {
  if (state.links.length === 0) return el('p', { id: 'links', class: 'muted' }, 'No one is linked on this site yet.');
  return el(
    'table',
    { id: 'links' },
    el('thead', {}, el('tr', {}, el('th', {}, 'User'), el('th', {}, 'Account'), el('th', {}, 'Since'), el('th', {}, ''))),
    el(
      'tbody',
      {},
      state.links.map((l) =>
        el(
          'tr',
          { 'data-link-id': l.id },
          el('td', {}, el('code', {}, l.externalUserId), el('div', { class: 'muted' }, `${l.route} · ${l.status}`)),
          el('td', {}, l.displayName || l.accountId),
          el('td', {}, sinceLabel(l.since)),
          el('td', {}, el('button', { class: 'danger revoke', type: 'button', onclick: (e) => run(e.currentTarget, async () => {
            await callGateway('/forge/admin/revoke', { linkId: l.id });
            flash('info', 'Link revoked', `${state.appName} can no longer act for ${l.externalUserId}.`);
            await reloadLinks();
          }) }, 'Revoke')),
        ),
      ),
    ),
  );
}

async function reloadLinks() {
  state = await callGateway('/forge/admin/state', {});
  document.getElementById('links')?.replaceWith(linksTable());
}

async function start() {
  try {
    state = await callGateway('/forge/admin/state', {});
  } catch (e) {
    fail(e);
    return;
  }
  root.replaceChildren(
    el('h1', { id: 'title' }, `${state.appName}: acting on behalf of users`),
    el('p', {}, `Signed in as ${state.admin.displayName || state.admin.accountId}, administrator of ${state.site.label}.`),
    el('div', { id: 'outcome' }),
    ...policySection(),
    ...mappingSection(),
    el('h2', {}, 'Linked users'),
    linksTable(),
  );
  root.setAttribute('aria-busy', 'false');
  document.body.dataset.ready = 'true';
}

start();

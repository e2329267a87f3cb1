/** Static assets of the server-rendered pages, served from memory (no build step, no file lookups). */

/** The pages' icon: a blue tile with a white "o" (for onbehalf); SVG, so one small file serves every size. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0c66e4"/><circle cx="16" cy="16" r="7.5" fill="none" stroke="#fff" stroke-width="4"/></svg>`;
export const ONBEHALF_CSS = `
:root { --ob-fg: #172b4d; --ob-muted: #505f79; --ob-accent: #0c66e4; --ob-danger: #c9372c; --ob-ok: #1f845a; --ob-warn: #a54800; --ob-bg: #fff; --ob-line: #dfe1e6; --ob-soft: #f7f8f9; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ob-fg); background: var(--ob-bg); }
.ob-main { max-width: 40rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.4rem; line-height: 1.3; margin: 0 0 .75rem; }
h2 { font-size: 1.1rem; margin: 1.75rem 0 .5rem; }
p { margin: .5rem 0; }
a { color: var(--ob-accent); }
.ob-muted { color: var(--ob-muted); }
.ob-id { display: block; font-size: .85em; overflow-wrap: anywhere; }
.ob-visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.ob-card { border: 1px solid var(--ob-line); border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; }
.ob-card dl { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
.ob-card dt { color: var(--ob-muted); }
.ob-card dd { margin: 0; overflow-wrap: anywhere; }
.ob-card fieldset { border: 0; margin: 0; padding: 0; }
.ob-card legend { padding: 0; margin-bottom: .25rem; }
ul.ob-abilities { padding-left: 1.25rem; margin: .25rem 0 .75rem; }
.ob-warning { background: #fff7d6; border-left: 4px solid #e2b203; padding: .5rem .75rem; border-radius: 4px; }
.ob-actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1.25rem; }
.ob-button { appearance: none; border: 1px solid transparent; border-radius: 4px; padding: .55rem 1.1rem; font: inherit; font-weight: 600; cursor: pointer; background: var(--ob-accent); color: #fff; text-decoration: none; display: inline-block; }
.ob-button:focus-visible, .ob-choice:focus-visible { outline: 3px solid #85b8ff; outline-offset: 2px; }
.ob-button.ob-secondary { background: #fff; color: var(--ob-fg); border-color: #8590a2; }
.ob-button.ob-danger { background: #fff; color: var(--ob-danger); border-color: var(--ob-danger); }
.ob-button[disabled] { opacity: .6; cursor: progress; }
.ob-notice { border-left: 4px solid var(--ob-accent); background: var(--ob-soft); padding: .75rem 1rem; margin: 1rem 0; border-radius: 4px; }
.ob-notice.ob-error { border-color: var(--ob-danger); }
.ob-notice.ob-success { border-color: var(--ob-ok); }
.ob-notice > :last-child { margin-bottom: 0; }
.ob-notice h1, .ob-notice h2 { margin-top: 0; }
.ob-next { margin-top: .75rem; }
ul.ob-choices { list-style: none; padding: 0; margin: 1rem 0; display: grid; gap: .5rem; }
a.ob-choice { display: block; border: 1px solid var(--ob-line); border-radius: 8px; padding: .75rem 1rem; font-weight: 600; text-decoration: none; overflow-wrap: anywhere; }
a.ob-choice:hover { border-color: var(--ob-accent); }
label.ob-check { display: flex; gap: .5rem; align-items: baseline; padding: .35rem 0; overflow-wrap: anywhere; }
table.ob-table { width: 100%; border-collapse: collapse; }
.ob-table th, .ob-table td { text-align: left; padding: .5rem; border-bottom: 1px solid var(--ob-line); vertical-align: top; overflow-wrap: anywhere; }
.ob-table td:last-child { text-align: right; }
.ob-table form { margin: 0; }
ul.ob-links { padding-left: 1.25rem; }
/* A row's action is one word: it never breaks ("Revo/ke"), and the column takes only what the button needs. */
.ob-table td:last-child { width: 1%; white-space: nowrap; }
.ob-table .ob-button { white-space: nowrap; }
.ob-search-row { display: flex; flex-wrap: wrap; gap: .5rem; }
.ob-card input[type="search"], .ob-card input[type="text"] { flex: 1 1 14rem; min-width: 0; min-height: 2.5rem; font: inherit; color: var(--ob-fg); padding: .45rem .6rem; border: 1px solid #8590a2; border-radius: 4px; }
.ob-card textarea { font: .9rem/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; padding: .45rem .6rem; border: 1px solid #8590a2; border-radius: 4px; }
ul.ob-links li { margin: .35rem 0; }
@media (max-width: 30rem) {
  .ob-main { padding: 1rem .75rem 2rem; }
  .ob-card { padding: .75rem; }
  .ob-card dl { grid-template-columns: 1fr; gap: 0; }
  .ob-card dd { margin-bottom: .5rem; }
  .ob-actions .ob-button { flex: 1 1 100%; text-align: center; }
  .ob-table thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .ob-table, .ob-table tbody, .ob-table tr, .ob-table td { display: block; width: 100%; }
  .ob-table tr { border-bottom: 1px solid var(--ob-line); padding: .5rem 0; }
  .ob-table td { border: 0; padding: .15rem 0; }
  .ob-table td:last-child { text-align: left; padding-top: .5rem; width: 100%; }
  .ob-table td:last-child .ob-button { width: 100%; }
}
`;

/**
 * The consent page's behaviour inside Confluence. Every call to the gateway carries a fresh context JWT
 * from AP.context.getToken(): no cookies, which browsers block in third-party iframes.
 */
export const CONNECT_LINK_JS = `(function () {
  'use strict';
  var root = document.getElementById('ob-link');
  if (!root) return;
  var base = root.getAttribute('data-base') || '';
  var app = root.getAttribute('data-app') || 'The app';
  var status = document.getElementById('ob-status');
  // The host gives the frame a fixed height; ask for our content's height so nothing is cut off.
  function fit() { if (window.AP && AP.env && AP.env.resize) AP.env.resize('100%', Math.ceil(document.body.getBoundingClientRect().height) + 'px'); }
  if (window.ResizeObserver) new ResizeObserver(fit).observe(document.body);
  function el(tag, text, cls) { var e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; }
  function say(kind, title, text, next, href, label) {
    status.className = 'ob-notice ob-' + kind;
    status.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    status.textContent = '';
    status.appendChild(el('h2', title));
    if (text) status.appendChild(el('p', text));
    if (next) { var n = el('p', '', 'ob-next'); n.appendChild(el('strong', 'What to do next: ')); n.appendChild(document.createTextNode(next)); status.appendChild(n); }
    if (href) {
      var a = el('a', label || 'Continue', 'ob-button'); a.href = href; a.target = '_top'; a.rel = 'noopener'; a.id = 'ob-continue';
      var p = el('p', '', 'ob-actions'); p.appendChild(a); status.appendChild(p);
    }
    status.hidden = false;
    fit();
  }
  function fail(res, fallback) {
    var e = (res.body && res.body.error) || {};
    var d = e.details || {};
    say('error', d.title || fallback, e.message || 'Something went wrong.', d.nextStep || 'Reload the page and try again.');
  }
  function post(path, body) {
    return AP.context.getToken().then(function (token) {
      return fetch(base + path, { method: 'POST', headers: { 'Authorization': 'JWT ' + token, 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); });
    });
  }
  function showLinks() {
    var rows = document.querySelectorAll('#ob-links tbody tr').length;
    document.getElementById('ob-links').hidden = rows === 0;
    document.getElementById('ob-no-links').hidden = rows > 0;
    fit();
  }
  function revoke(button) {
    button.disabled = true;
    post('/connect/links/' + encodeURIComponent(button.getAttribute('data-revoke')) + '/revoke', {}).then(function (res) {
      if (!res.ok) { button.disabled = false; fail(res, 'Could not disconnect'); return; }
      var row = button.closest('tr'); if (row) row.remove();
      showLinks();
      say('success', 'Disconnected', app + ' can no longer act as you through that link.');
    }).catch(function (e) { button.disabled = false; say('error', 'Could not reach ' + app, e.message, 'Check your connection and try again.'); });
  }
  function addRow(l) {
    if (document.querySelector('#ob-links tr[data-link="' + l.id + '"]')) return;
    var tr = el('tr'); tr.setAttribute('data-link', l.id);
    tr.appendChild(el('td', l.externalUserId));
    var st = el('td', l.statusLabel + ' '); st.appendChild(el('span', 'since ' + l.since, 'ob-muted ob-since')); tr.appendChild(st);
    var td = el('td'); var b = el('button', 'Disconnect', 'ob-button ob-danger'); b.type = 'button';
    b.setAttribute('data-revoke', l.id); b.setAttribute('aria-label', 'Disconnect ' + l.externalUserId);
    b.addEventListener('click', function () { revoke(b); });
    td.appendChild(b); tr.appendChild(td);
    document.querySelector('#ob-links tbody').appendChild(tr);
  }
  Array.prototype.forEach.call(document.querySelectorAll('[data-decision]'), function (button) {
    button.addEventListener('click', function () {
      Array.prototype.forEach.call(document.querySelectorAll('[data-decision]'), function (b) { b.disabled = true; });
      post('/connect/link/decide', { session: root.getAttribute('data-session'), decision: button.getAttribute('data-decision') }).then(function (res) {
        var form = document.getElementById('ob-consent'); if (form) form.hidden = true;
        if (!res.ok) { fail(res, 'Linking did not complete'); return; }
        (res.body.links || []).forEach(addRow);
        showLinks();
        say(res.body.status === 'denied' ? 'info' : 'success', res.body.title, res.body.message, res.body.next, res.body.redirectUrl, 'Return to ' + app);
      }).catch(function (e) {
        Array.prototype.forEach.call(document.querySelectorAll('[data-decision]'), function (b) { b.disabled = false; });
        say('error', 'Could not reach ' + app, e.message, 'Check your connection and try again.');
      });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('[data-revoke]'), function (button) {
    button.addEventListener('click', function () { revoke(button); });
  });
  fit();
  // Tells people (and browser tests) that the buttons now work: before this, a click does nothing.
  root.setAttribute('data-ready', 'true');
})();
`;

/** The configure page's behaviour: every change is a POST with a fresh context JWT (no cookies). */
export const CONNECT_CONFIGURE_JS = `(function () {
  'use strict';
  var root = document.getElementById('ob-configure');
  if (!root) return;
  var base = root.getAttribute('data-base') || '';
  var status = document.getElementById('ob-status');
  // The host gives the frame a fixed height (found cut off in Chromium); follow our content's height instead.
  function fit() { if (window.AP && AP.env && AP.env.resize) AP.env.resize('100%', Math.ceil(document.body.getBoundingClientRect().height) + 'px'); }
  if (window.ResizeObserver) new ResizeObserver(fit).observe(document.body);
  fit();
  function say(kind, text) { status.className = 'ob-notice ob-' + kind; status.setAttribute('role', kind === 'error' ? 'alert' : 'status'); status.textContent = text; status.hidden = false; }
  function post(path, body) {
    return AP.context.getToken().then(function (token) {
      return fetch(base + path, { method: 'POST', headers: { 'Authorization': 'JWT ' + token, 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); });
    });
  }
  function fail(res) { say('error', (res.body.error && res.body.error.message) || 'Something went wrong.'); }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; }
  function mapRow(u) {
    var tr = document.createElement('tr');
    var who = el('td', u.displayName); who.appendChild(document.createElement('br')); who.appendChild(el('span', (u.email || 'email hidden') + ' · ' + u.accountId, 'ob-muted'));
    var act = document.createElement('td');
    if (u.linkedTo) { act.textContent = 'linked to ' + u.linkedTo; }
    else {
      var label = el('label', 'User ID for ' + u.displayName, 'ob-muted'); label.htmlFor = 'ob-ext-' + u.accountId;
      var input = document.createElement('input'); input.id = 'ob-ext-' + u.accountId;
      var button = el('button', 'Map', 'ob-button'); button.type = 'button';
      button.addEventListener('click', function () {
        var externalUserId = input.value.trim();
        if (!externalUserId) { say('error', 'Enter the user ID first.'); return; }
        button.disabled = true;
        post('/connect/configure/map', { accountId: u.accountId, externalUserId: externalUserId }).then(function (res) {
          button.disabled = false;
          if (!res.ok) return fail(res);
          say('success', 'Mapped ' + externalUserId + '.');
          act.textContent = 'linked to ' + externalUserId;
        });
      });
      act.appendChild(label); act.appendChild(input); act.appendChild(document.createTextNode(' ')); act.appendChild(button);
    }
    tr.appendChild(who); tr.appendChild(act);
    return tr;
  }
  var searchButton = document.getElementById('ob-search');
  if (searchButton) searchButton.addEventListener('click', function () {
    var q = document.getElementById('ob-q').value.trim();
    if (!q) return;
    post('/connect/configure/search', { q: q }).then(function (res) {
      if (!res.ok) return fail(res);
      var table = document.getElementById('ob-found'); var body = table.querySelector('tbody');
      body.textContent = '';
      res.body.users.forEach(function (u) { body.appendChild(mapRow(u)); });
      table.hidden = false;
      if (res.body.users.length === 0) say('info', 'Nobody matches "' + q + '".'); else status.hidden = true;
    });
  });
  var importButton = document.getElementById('ob-import');
  if (importButton) importButton.addEventListener('click', function () {
    importButton.disabled = true;
    post('/connect/configure/import', { csv: document.getElementById('ob-csv').value }).then(function (res) {
      importButton.disabled = false;
      if (!res.ok) return fail(res);
      say(res.body.failed > 0 ? 'error' : 'success', 'Imported ' + res.body.mapped + ', failed ' + res.body.failed + (res.body.errors.length ? ': ' + res.body.errors.join('; ') : '.'));
    });
  });
  var savePolicy = document.getElementById('ob-save-policy');
  if (savePolicy) savePolicy.addEventListener('click', function () {
    var chosen = document.querySelector('input[name="acting"]:checked');
    post('/connect/configure/policy', { acting: chosen && chosen.value }).then(function (res) {
      if (!res.ok) return fail(res);
      say('success', 'Policy saved.');
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('[data-revoke]'), function (button) {
    button.addEventListener('click', function () {
      button.disabled = true;
      post('/connect/configure/revoke', { linkId: button.getAttribute('data-revoke') }).then(function (res) {
        if (!res.ok) { button.disabled = false; return fail(res); }
        var row = button.closest('tr'); if (row) row.remove();
        var table = document.getElementById('ob-links');
        if (table && table.querySelectorAll('tbody tr').length === 0) table.replaceWith(el('p', 'No links yet.', 'ob-muted'));
        say('success', 'Link revoked.');
      });
    });
  });
})();
`;

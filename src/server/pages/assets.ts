/** Static assets of the server-rendered pages, served from memory (no build step, no file lookups). */
export const ONBEHALF_CSS = `
:root { --ob-fg: #172b4d; --ob-muted: #5e6c84; --ob-accent: #0c66e4; --ob-danger: #c9372c; --ob-ok: #1f845a; --ob-bg: #fff; --ob-line: #dfe1e6; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ob-fg); background: var(--ob-bg); }
.ob-main { max-width: 40rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.4rem; margin: 0 0 .75rem; }
h2 { font-size: 1.1rem; margin: 2rem 0 .5rem; }
p { margin: .5rem 0; }
.ob-muted { color: var(--ob-muted); }
.ob-card { border: 1px solid var(--ob-line); border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; }
.ob-card dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
.ob-card dt { color: var(--ob-muted); }
.ob-card dd { margin: 0; overflow-wrap: anywhere; }
ul.ob-abilities { padding-left: 1.25rem; }
.ob-actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1.25rem; }
.ob-button { appearance: none; border: 1px solid transparent; border-radius: 4px; padding: .55rem 1.1rem; font: inherit; font-weight: 600; cursor: pointer; background: var(--ob-accent); color: #fff; text-decoration: none; display: inline-block; }
.ob-button:focus-visible { outline: 3px solid #85b8ff; outline-offset: 2px; }
.ob-button.ob-secondary { background: #fff; color: var(--ob-fg); border-color: var(--ob-line); }
.ob-button.ob-danger { background: #fff; color: var(--ob-danger); border-color: var(--ob-danger); }
.ob-button[disabled] { opacity: .6; cursor: progress; }
.ob-notice { border-left: 4px solid var(--ob-accent); padding: .5rem 1rem; margin: 1rem 0; }
.ob-notice.ob-error { border-color: var(--ob-danger); }
.ob-notice.ob-success { border-color: var(--ob-ok); }
table.ob-table { width: 100%; border-collapse: collapse; }
.ob-table th, .ob-table td { text-align: left; padding: .5rem; border-bottom: 1px solid var(--ob-line); vertical-align: top; }
@media (max-width: 30rem) { .ob-card dl { grid-template-columns: 1fr; } .ob-actions .ob-button { flex: 1 1 100%; text-align: center; } }
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
  var status = document.getElementById('ob-status');
  function say(kind, text, href, label) {
    status.className = 'ob-notice ob-' + kind;
    status.textContent = '';
    var p = document.createElement('p'); p.textContent = text; status.appendChild(p);
    if (href) {
      var a = document.createElement('a'); a.href = href; a.target = '_top'; a.rel = 'noopener'; a.className = 'ob-button'; a.textContent = label || 'Continue';
      a.id = 'ob-continue'; status.appendChild(a);
    }
    status.hidden = false;
  }
  function post(path, body) {
    return AP.context.getToken().then(function (token) {
      return fetch(base + path, { method: 'POST', headers: { 'Authorization': 'JWT ' + token, 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll('[data-decision]'), function (button) {
    button.addEventListener('click', function () {
      Array.prototype.forEach.call(document.querySelectorAll('[data-decision]'), function (b) { b.disabled = true; });
      post('/connect/link/decide', { session: root.getAttribute('data-session'), decision: button.getAttribute('data-decision') }).then(function (res) {
        var form = document.getElementById('ob-consent'); if (form) form.hidden = true;
        if (!res.ok) { say('error', (res.body.error && res.body.error.message) || 'Something went wrong.'); return; }
        say(res.body.status === 'denied' ? 'info' : 'success', res.body.message, res.body.redirectUrl, 'Return to ' + root.getAttribute('data-app'));
      }).catch(function (e) { say('error', 'Could not reach ' + root.getAttribute('data-app') + ': ' + e.message); });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('[data-revoke]'), function (button) {
    button.addEventListener('click', function () {
      button.disabled = true;
      post('/connect/links/' + encodeURIComponent(button.getAttribute('data-revoke')) + '/revoke', {}).then(function (res) {
        if (!res.ok) { button.disabled = false; say('error', (res.body.error && res.body.error.message) || 'Could not disconnect.'); return; }
        var row = button.closest('tr'); if (row) row.remove();
        say('success', 'Disconnected. ' + root.getAttribute('data-app') + ' can no longer act as you through that link.');
      });
    });
  });
})();
`;

/** The configure page's behaviour: every change is a POST with a fresh context JWT (no cookies). */
export const CONNECT_CONFIGURE_JS = `(function () {
  'use strict';
  var root = document.getElementById('ob-configure');
  if (!root) return;
  var base = root.getAttribute('data-base') || '';
  var status = document.getElementById('ob-status');
  function say(kind, text) { status.className = 'ob-notice ob-' + kind; status.textContent = text; status.hidden = false; }
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
        say('success', 'Link revoked.');
      });
    });
  });
})();
`;

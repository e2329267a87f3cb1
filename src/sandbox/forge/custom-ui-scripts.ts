/**
 * The two halves of the sandbox's Custom UI bridge (§10.10 "The Custom UI bridge, host side").
 *
 * IFRAME_SHIM runs first in the app's `index.html` and defines `globalThis.__bridge.callBridge(name, payload)`,
 * the one function `@forge/bridge` calls; it forwards each call to the host page by `postMessage` and resolves
 * with the answer. Atlassian's own message format is not published, so this one is the sandbox's.
 *
 * HOST_SCRIPT runs in the sandbox's Confluence page around the iframe. It accepts messages only from that
 * iframe's window, answers `getContext` from the page, and sends `invoke` (invokeRemote), `fetchProduct`
 * (requestConfluence) and `fetchRemote` (requestRemote) to the sandbox server, which makes the call with
 * the signed-in user as principal. Navigation and flags get small real behaviours; the rest fail with
 * "not emulated" so an app sees a clear error instead of a hang.
 */

export const IFRAME_SHIM = `(function () {
  'use strict';
  var pending = {};
  var seq = 0;
  window.addEventListener('message', function (e) {
    if (e.source !== window.parent) return;
    var m = e.data;
    if (!m || m.type !== 'onbehalf-forge-bridge-result' || !pending[m.id]) return;
    var p = pending[m.id];
    delete pending[m.id];
    if (m.ok) p.resolve(m.value); else p.reject(new Error(m.error || 'bridge call failed'));
  });
  function send(name, payload) {
    return window.__bridge.callBridge(name, payload);
  }
  // createHistory answers an object with methods, which postMessage cannot carry: the iframe builds it
  // around the location the host reports, and each move goes to the host, which changes the page URL.
  function makeHistory(init) {
    var listeners = [];
    var h = {
      action: 'POP', length: 1, location: init.location,
      listen: function (fn) { listeners.push(fn); return function () { listeners = listeners.filter(function (f) { return f !== fn; }); }; },
      block: function () { return function () {}; },
      createHref: function (to) { return typeof to === 'string' ? to : (to.pathname || '') + (to.search || '') + (to.hash || ''); },
      push: function (to, state) { return move('PUSH', to, state); },
      replace: function (to, state) { return move('REPLACE', to, state); },
      go: function (n) { return send('historyGo', { delta: n }); },
      back: function () { return send('historyGo', { delta: -1 }); },
      goBack: function () { return send('historyGo', { delta: -1 }); },
      forward: function () { return send('historyGo', { delta: 1 }); },
      goForward: function () { return send('historyGo', { delta: 1 }); }
    };
    function move(action, to, state) {
      return send('historyChange', { action: action, to: to, state: state === undefined ? null : state }).then(function (loc) {
        h.location = loc; h.action = action;
        listeners.slice().forEach(function (fn) { fn(loc, action); });
      });
    }
    return h;
  }
  window.__bridge = {
    callBridge: function (name, payload) {
      if (name === 'createHistory') return send('historyInit').then(makeHistory);
      return new Promise(function (resolve, reject) {
        var id = 'c' + (++seq);
        pending[id] = { resolve: resolve, reject: reject };
        var clean;
        try { clean = payload === undefined ? undefined : JSON.parse(JSON.stringify(payload)); }
        catch (err) { delete pending[id]; reject(err); return; }
        window.parent.postMessage({ type: 'onbehalf-forge-bridge-call', id: id, name: name, payload: clean }, '*');
      });
    }
  };
})();`;

export const HOST_SCRIPT = `(function () {
  'use strict';
  var frame = document.getElementById('forge-app-frame');
  var data = JSON.parse(document.getElementById('forge-host-data').textContent);
  function post(name, payload) {
    return fetch(data.bridgeUrl + '/' + name, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-onbehalf-sandbox-bridge': '1' },
      body: JSON.stringify(payload === undefined ? null : payload)
    }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error(j.message || ('HTTP ' + r.status)); return j; });
    });
  }
  function here() {
    var rest = window.location.pathname.slice(data.pagePath.length);
    return { pathname: rest === '' ? '/' : rest, search: window.location.search, hash: window.location.hash, state: window.history.state, key: 'default' };
  }
  function flag(options) {
    var box = document.getElementById('forge-flags');
    var el = document.createElement('div');
    el.className = 'forge-flag forge-flag-' + String((options && options.type) || 'info');
    el.textContent = String((options && (options.title || options.description)) || '');
    box.appendChild(el);
    return { id: String(Date.now()) };
  }
  var handlers = {
    getContext: function () { return data.context; },
    // The module's own part of the page URL (§10.10 createHistory): what follows its route, and the query.
    historyInit: function () { return { location: here() }; },
    historyChange: function (p) {
      var to = p && p.to;
      var t = typeof to === 'string' ? new URL(to, 'http://x' + (here().pathname === '/' ? '/' : here().pathname)) : null;
      var path = t ? t.pathname : (to && to.pathname) || here().pathname;
      var search = t ? t.search : (to && to.search) || '';
      var hash = t ? t.hash : (to && to.hash) || '';
      var url = data.pagePath + (path === '/' ? '' : path) + search + hash;
      if (p.action === 'REPLACE') window.history.replaceState(p.state, '', url); else window.history.pushState(p.state, '', url);
      return here();
    },
    historyGo: function (p) { window.history.go(p && typeof p.delta === 'number' ? p.delta : 0); return null; },
    invoke: function (p) { return post('invoke', p); },
    fetchProduct: function (p) { return post('fetch-product', p); },
    fetchRemote: function (p) { return post('fetch-remote', p); },
    reload: function () { window.location.reload(); return null; },
    refresh: function () { window.location.reload(); return null; },
    navigate: function (p) {
      var url = p && (p.url || p.target === undefined && p);
      if (typeof url === 'string' && /^(\\/|https?:)/.test(url)) {
        if (p.type === 'new-tab') window.open(url, '_blank', 'noopener'); else window.location.href = url;
        return null;
      }
      throw new Error('navigate: only URL targets are emulated by the sandbox');
    },
    showFlag: function (p) { return flag(p); },
    closeFlag: function () { return null; },
    close: function () { return null; },
    submit: function () { return null; },
    emitReadyEvent: function () { return null; },
    enableTheming: function () { return null; },
    changeWindowTitle: function (p) { if (p && typeof p.title === 'string') document.title = p.title; return null; }
  };
  window.addEventListener('message', function (e) {
    if (e.source !== frame.contentWindow) return;
    var m = e.data;
    if (!m || m.type !== 'onbehalf-forge-bridge-call' || typeof m.id !== 'string') return;
    function reply(ok, value, error) {
      frame.contentWindow.postMessage({ type: 'onbehalf-forge-bridge-result', id: m.id, ok: ok, value: value, error: error }, '*');
    }
    var h = handlers[m.name];
    if (!h) { reply(false, undefined, 'The sandbox does not emulate the bridge call "' + m.name + '"'); return; }
    Promise.resolve().then(function () { return h(m.payload); })
      .then(function (v) { reply(true, v); }, function (err) { reply(false, undefined, err && err.message ? err.message : String(err)); });
  });
})();`;

/**
 * Host-side bridge of the sandbox's module page (§9.4, §9.8.4–5): accepts messages only from the iframe's
 * origin and window, answers `init` with `init_received`, and serves the `context`, `user`, `env`,
 * `navigator`, `cookie`, `request`, `page`, `flag` and `messages` modules.
 */
export const HOST_PAGE_SCRIPT = `(function () {
  'use strict';
  var frame = document.querySelector('iframe.ap-iframe');
  var data = JSON.parse(document.getElementById('ap-host-data').textContent);
  var appOrigin = new URL(frame.src).origin;
  var source = null;
  function reply(mid, args) { if (source) source.postMessage({ type: 'resp', mid: mid, args: args, forPlugin: true }, appOrigin); }
  function storageKey(name) { return data.appKey + '$$' + name; }
  var modules = {
    context: {
      getToken: function () {
        return fetch(data.contextTokenUrl, { method: 'POST', credentials: 'same-origin' })
          .then(function (r) { if (!r.ok) throw new Error('context token: HTTP ' + r.status); return r.json(); })
          .then(function (j) { return j.token; });
      },
      getContext: function () { return data.structuredContext; }
    },
    user: {
      getCurrentUser: function () { return data.user; },
      getTimeZone: function () { return data.timeZone; },
      getLocale: function () { return data.locale; }
    },
    env: {
      resize: function (w, h) { if (w) frame.style.width = /^\\d+$/.test(String(w)) ? w + 'px' : w; if (h) frame.style.height = /^\\d+$/.test(String(h)) ? h + 'px' : h; },
      sizeToParent: function () { frame.style.width = '100%'; frame.style.height = (window.innerHeight - 80) + 'px'; },
      getLocation: function () { return window.location.href; }
    },
    navigator: {
      getLocation: function () { return { target: 'addonmodule', context: { addonKey: data.appKey, moduleKey: data.moduleKey } }; },
      reload: function () { window.location.reload(); },
      go: function (target, ctx) {
        if (target && String(target).toLowerCase() === 'addonmodule' && ctx && ctx.moduleKey) {
          var q = Object.keys(ctx.customData || {}).map(function (k) { return 'ac.' + encodeURIComponent(k) + '=' + encodeURIComponent(ctx.customData[k]); }).join('&');
          window.location.href = data.servletBase + '/' + encodeURIComponent(ctx.addonKey || data.appKey) + '/' + encodeURIComponent(ctx.moduleKey) + (q ? '?' + q : '');
        }
      }
    },
    cookie: {
      save: function (name, value) { localStorage.setItem(storageKey(name), value); },
      read: function (name) { return localStorage.getItem(storageKey(name)); },
      erase: function (name) { localStorage.removeItem(storageKey(name)); }
    },
    request: {
      request: function (opts) {
        return fetch(data.apRequestUrl, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(opts || {}) })
          .then(function (r) { if (!r.ok) throw new Error('AP.request bridge: HTTP ' + r.status); return r.json(); });
      }
    },
    page: { setTitle: function (t) { document.title = t; } },
    flag: { create: function (o) { console.log('[AP.flag]', o && o.title); } },
    messages: { info: function (t) { console.log('[AP.messages]', t); } }
  };
  window.addEventListener('message', function (event) {
    if (event.origin !== appOrigin) return;
    var d = event.data || {};
    if (d.type === 'init') {
      if (event.source !== frame.contentWindow) return;
      source = event.source;
      source.postMessage({ type: 'init_received' }, appOrigin);
      return;
    }
    if (event.source !== source) return;
    if (d.type !== 'req') return;
    var mod = modules[d.mod], fn = mod && mod[d.fn];
    var spec = data.api[d.mod] && data.api[d.mod][d.fn];
    if (!fn) { if (d.mid) reply(d.mid, ['Unsupported: AP.' + d.mod + '.' + d.fn]); return; }
    Promise.resolve().then(function () { return fn.apply(null, d.args || []); }).then(
      function (result) { if (d.mid) reply(d.mid, spec && spec.returnsPromise ? [undefined, result] : [result]); },
      function (err) { if (d.mid) reply(d.mid, [String(err && err.message || err)]); }
    );
  });
})();
`;

/** The API spec the host advertises to the iframe (`api` in the iframe's `name`). */
export const HOST_API_SPEC: Record<string, Record<string, { args: string[]; returnsPromise: boolean }>> = {
  context: { getToken: { args: [], returnsPromise: true }, getContext: { args: [], returnsPromise: true } },
  user: { getCurrentUser: { args: [], returnsPromise: true }, getTimeZone: { args: [], returnsPromise: true }, getLocale: { args: [], returnsPromise: true } },
  env: { resize: { args: ['width', 'height'], returnsPromise: false }, sizeToParent: { args: [], returnsPromise: false }, getLocation: { args: [], returnsPromise: true } },
  navigator: { go: { args: ['target', 'context'], returnsPromise: false }, getLocation: { args: [], returnsPromise: true }, reload: { args: [], returnsPromise: false } },
  cookie: { save: { args: ['name', 'value', 'expires'], returnsPromise: false }, read: { args: ['name'], returnsPromise: true }, erase: { args: ['name'], returnsPromise: false } },
  request: { request: { args: ['options'], returnsPromise: true } },
  page: { setTitle: { args: ['title'], returnsPromise: false } },
  flag: { create: { args: ['options'], returnsPromise: false } },
  messages: { info: { args: ['title', 'body'], returnsPromise: false } },
};

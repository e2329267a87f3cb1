/**
 * A small iframe-side `all.js` (§9.4): reads `window.name` (`{extension_id, api, origin, options}`), builds
 * `AP.<module>.<fn>` proxies from `api`, posts `init` to the parent, and resolves calls on `resp` messages.
 * Promise methods receive `(err, result)`; callback-style calls get the raw arguments.
 */
export const ALL_JS = `(function () {
  'use strict';
  var init;
  try { init = JSON.parse(window.name || '{}'); } catch (e) { init = {}; }
  var eid = init.extension_id, hostOrigin = init.origin || '*', api = init.api || {};
  var pending = {}, seq = 0, listeners = {};
  function send(msg) { window.parent.postMessage(msg, hostOrigin); }
  function call(mod, fn, spec, args) {
    args = Array.prototype.slice.call(args);
    var cb = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    var mid = 'm' + (++seq);
    var p = new Promise(function (resolve, reject) {
      pending[mid] = function (respArgs) {
        if (cb) { cb.apply(null, respArgs); resolve(respArgs[0]); return; }
        if (spec && spec.returnsPromise) {
          if (respArgs[0]) reject(respArgs[0]); else resolve(respArgs[1]);
        } else { resolve(respArgs[0]); }
      };
    });
    send({ eid: eid, type: 'req', mid: mid, mod: mod, fn: fn, args: args });
    return p;
  }
  var AP = {};
  Object.keys(api).forEach(function (mod) {
    AP[mod] = {};
    Object.keys(api[mod]).forEach(function (fn) {
      var spec = api[mod][fn];
      AP[mod][fn] = function () { return call(mod, fn, spec, arguments); };
    });
  });
  if (api.request && api.request.request) {
    // AP.request(url | options): promise form resolves {body, xhr}; success/error callbacks as in ACJS.
    AP.request = function (arg) {
      var opts = typeof arg === 'string' ? { url: arg } : (arg || {});
      var wire = {};
      Object.keys(opts).forEach(function (k) { if (typeof opts[k] !== 'function') wire[k] = opts[k]; });
      return call('request', 'request', api.request.request, [wire]).then(function (r) {
        var xhr = { status: r.status, statusText: r.statusText, responseText: r.responseText,
          getResponseHeader: function (h) { h = String(h).toLowerCase(); return h === 'content-type' ? r.contentType : h === 'etag' ? r.etag : null; } };
        if (r.status >= 200 && r.status < 300) { if (opts.success) opts.success(r.responseText, r.statusText, xhr); return { body: r.responseText, xhr: xhr }; }
        if (opts.error) opts.error(xhr, r.statusText, r.statusText);
        throw { xhr: xhr, err: r.statusText };
      });
    };
  }
  AP.events = AP.events || {};
  AP.events.on = function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); };
  window.addEventListener('message', function (event) {
    if (hostOrigin !== '*' && event.origin !== hostOrigin) return;
    var d = event.data || {};
    if (d.type === 'resp' && pending[d.mid]) { var f = pending[d.mid]; delete pending[d.mid]; f(d.args || []); }
    else if (d.type === 'evt') { (listeners[d.etyp] || []).forEach(function (fn) { fn(d.evnt); }); }
    else if (d.type === 'init_received') { AP._initialised = true; }
  });
  window.AP = AP;
  send({ eid: eid, type: 'init', targets: {} });
})();
`;

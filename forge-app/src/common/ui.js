import { invokeRemote } from '@forge/bridge';

/** A DOM element with text children only: nothing the gateway sends is ever parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

export function notice(kind, title, message, next) {
  return el('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, el('strong', { class: 'notice-title' }, title), message ? el('p', {}, message) : null, next ? el('p', { class: 'muted' }, next) : null);
}

/**
 * One call to the gateway (the app's remote) through Forge: Forge adds the invocation token that says who is
 * calling from which page. Answers the JSON body; a non-2xx becomes an Error carrying the gateway's words.
 */
export async function callGateway(path, body) {
  let res;
  try {
    res = await invokeRemote({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: body ?? {} });
  } catch (e) {
    throw Object.assign(new Error(`The gateway could not be reached (${e && e.message ? e.message : 'unknown error'}). Try again in a moment.`), { title: 'Something went wrong' });
  }
  const data = res.body ?? {};
  if (res.status >= 200 && res.status < 300) return data;
  const err = data.error ?? {};
  const details = err.details ?? {};
  throw Object.assign(new Error(err.message || `The gateway answered HTTP ${res.status}.`), { code: err.code, title: details.title || 'Something went wrong', next: details.nextStep });
}

export function sinceLabel(iso) {
  return iso ? new Date(iso).toISOString().slice(0, 10) : '';
}

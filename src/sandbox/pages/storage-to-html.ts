/**
 * A page body in storage format (XHTML written by users and apps), made safe to show in the sandbox's
 * Confluence view. A strict allow-list, not a blocklist: only the formatting tags below survive, always
 * WITHOUT attributes (no href, style or on* handler can get through, so there is nothing to check in them);
 * every other tag (scripts, iframes, `ac:` macros, comments, CDATA) is dropped while its text stays, escaped.
 * Tags are re-balanced so an unclosed `<strong>` cannot bleed into the rest of the page.
 */

const ALLOWED = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'strong', 'b', 'em', 'i', 'u', 's', 'sub', 'sup', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'hr', 'br']);
const VOID = new Set(['hr', 'br']);
/** Elements whose text is never content (a dropped `<script>` must not leave its source on the page). */
const RAW_TEXT = /<(script|style|textarea|title|xmp|noembed|noframes|iframe)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
/** A tag, a comment, CDATA or a declaration; anything else that starts with `<` is text. */
const MARKUP = /<!--[\s\S]*?(?:-->|$)|<!\[CDATA\[([\s\S]*?)(?:\]\]>|$)|<![^>]*>?|<\?[^>]*>?|<(\/?)([a-zA-Z][a-zA-Z0-9:_-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
const ENTITY = /&(?:#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});/y;

/** Escapes text for HTML, keeping well-formed character references (`&amp;`, `&#169;`) as they are. */
export function escapeText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '&') {
      ENTITY.lastIndex = i;
      out += ENTITY.test(text) ? '&' : '&amp;';
    } else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '"') out += '&quot;';
    else if (ch === "'") out += '&#39;';
    else out += ch;
  }
  return out;
}

export function storageToHtml(storage: string): string {
  const source = storage.replace(RAW_TEXT, '');
  const open: string[] = [];
  let out = '';
  let last = 0;
  for (const m of source.matchAll(MARKUP)) {
    out += escapeText(source.slice(last, m.index));
    last = m.index + m[0].length;
    // CDATA (Confluence keeps code-macro bodies in it) is text.
    if (m[1] !== undefined) {
      out += escapeText(m[1]);
      continue;
    }
    const name = m[3]?.toLowerCase();
    if (!name || !ALLOWED.has(name)) continue;
    if (m[2] === '/') {
      const at = open.lastIndexOf(name);
      if (at < 0) continue;
      while (open.length > at) out += `</${open.pop()}>`;
      continue;
    }
    if (VOID.has(name)) {
      out += `<${name}>`;
      continue;
    }
    // A self-closed `<p/>` opens nothing.
    if (/\/\s*$/.test(m[4] ?? '')) continue;
    open.push(name);
    out += `<${name}>`;
  }
  out += escapeText(source.slice(last));
  while (open.length > 0) out += `</${open.pop()}>`;
  return out;
}

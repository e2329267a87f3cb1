import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { SandboxSite, SandboxUser } from '../state/types.js';
import { SANDBOX_HEAD } from './page-head.js';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The view's own styles on top of the sandbox's: a Confluence-like header, a page tree beside the page, stacked on a phone. */
const WIKI_STYLE = raw(`<style>
.wiki-bar { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; justify-content: space-between; }
.wiki-bar a { color: #fff; text-decoration: none; font-weight: 600; }
.wiki-bar form { margin: 0; }
.wiki-bar button { padding: .2rem .6rem; }
.wiki-who { font-size: .9rem; }
.wiki-layout { display: grid; grid-template-columns: minmax(12rem, 16rem) minmax(0, 1fr); gap: 1.5rem; max-width: 72rem; margin: 0 auto; padding: 1rem; }
.wiki-single { grid-template-columns: minmax(0, 1fr); max-width: 56rem; }
.wiki-layout > main { margin: 0; padding: 0; max-width: none; min-width: 0; }
.wiki-byline time { white-space: nowrap; }
.wiki-layout > nav { border-right: 1px solid #dfe1e6; padding-right: 1rem; }
.wiki-layout > nav ul { list-style: none; padding-left: .9rem; margin: .2rem 0; }
.wiki-layout > nav > ul { padding-left: 0; }
.wiki-layout > nav a[aria-current="page"] { font-weight: 700; color: #172b4d; }
.wiki-crumbs { font-size: .9rem; color: #44546f; margin: 0; }
.wiki-crumbs a { color: #44546f; }
.wiki-byline { color: #44546f; font-size: .9rem; }
.wiki-body { background: #fff; border: 1px solid #dfe1e6; border-radius: 6px; padding: .5rem 1.25rem; overflow-wrap: anywhere; }
.wiki-body table { border-collapse: collapse; }
.wiki-body td, .wiki-body th { border: 1px solid #dfe1e6; padding: .25rem .5rem; }
.wiki-body pre { overflow-x: auto; }
.wiki-list { list-style: none; padding: 0; }
.wiki-list li { background: #fff; border: 1px solid #dfe1e6; border-radius: 6px; padding: .6rem .9rem; }
.wiki-note { font-size: .85rem; color: #626f86; }
@media (max-width: 40rem) {
  .wiki-layout { grid-template-columns: minmax(0, 1fr); }
  .wiki-layout > nav { border-right: 0; border-top: 1px solid #dfe1e6; padding: .5rem 0 0; order: 2; }
}
</style>`);

export interface WikiFrame {
  title: string;
  site: SandboxSite;
  siteHome: string;
  user: SandboxUser;
  /** This page's path, where "Switch user" returns after signing in again. */
  here: string;
  /** The page tree or space list beside the content; omitted on the site's home. */
  nav?: Html | null;
  main: Html;
}

/**
 * The frame of every page of the view: it reads as "Confluence, in the sandbox" (never mistaken for the
 * gateway's own pages), says who is looking (what you see follows that user's permissions) and lets them
 * switch user.
 */
export function wikiFrame(f: WikiFrame): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${f.title} - ${f.site.name} - Confluence (sandbox)</title>${SANDBOX_HEAD}${WIKI_STYLE}</head>
<body>
<header class="wiki-bar"><a href="${f.siteHome}">Confluence · ${f.site.name}</a>
<span class="wiki-who">Viewing as <strong id="current-user">${f.user.displayName}</strong>
<form method="post" action="/logout" style="display:inline"><input type="hidden" name="returnTo" value="${f.here}"><button>Switch user</button></form></span></header>
<div class="wiki-layout${f.nav ? '' : ' wiki-single'}">${f.nav ? html`<nav aria-label="Page tree">${f.nav}</nav>` : ''}<main id="wiki-main">${f.main}</main></div>
</body></html>`;
}

export function wikiProblem(title: string, message: string, back: { href: string; label: string }): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title} - Confluence (sandbox)</title>${SANDBOX_HEAD}</head>
<body><header>Confluence (sandbox)</header><main><h1>${title}</h1><p id="message">${message}</p><p><a href="${back.href}">${back.label}</a></p></main></body></html>`;
}

/** `2026-12-03 09:40 UTC`: the same for every viewer, like the rest of the sandbox. */
export function when(ms: number): Html {
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

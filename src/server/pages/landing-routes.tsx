import type { Context } from 'hono';
import type { RouteDef } from '../routes.js';
import { FAVICON_SVG } from './assets.js';
import { Layout } from './layout.js';

export interface LandingDeps {
  version: string;
  baseUrl: string;
  appName: string;
  appKey: string;
  /** Whether the admin console is on (ONBEHALF_ADMIN_SECRET set). */
  adminConsole: boolean;
  oauthConfigured: boolean;
  /** The Forge app id when the gateway is a Forge app's remote (ONBEHALF_FORGE_APP_ID). */
  forgeAppId: string | null;
  /** Who the gateway talks to; a sandbox is named with its URL, so a newcomer can find it from here. */
  atlassian: { kind: 'production' } | { kind: 'overrides' } | { kind: 'sandbox'; url: string };
}

interface Entry {
  /** Its name in the JSON answer. */
  key: string;
  href: string;
  label: string;
  what: string;
}

/** The links of the landing page, also answered as JSON to clients that do not ask for HTML. */
function entries(d: LandingDeps): { people: Entry[]; apps: Entry[]; operators: Entry[] } {
  const at = (p: string) => `${d.baseUrl}${p}`;
  return {
    people: [
      d.adminConsole
        ? { key: 'adminConsole', href: at('/admin'), label: 'Admin console', what: 'users and links, link sessions, accounts, mapping, audit log, activity, API keys, policies' }
        : { key: 'adminConsoleDocs', href: at('/docs/admin-console.md'), label: 'Admin console (off)', what: 'set ONBEHALF_ADMIN_SECRET to turn it on' },
      { key: 'docs', href: at('/docs'), label: 'Documentation', what: 'concepts, the /v1 API and SDK, linking, production, security' },
    ],
    apps: [
      { key: 'openapi', href: at('/openapi.json'), label: 'OpenAPI 3.1', what: 'the /v1 API your backend calls with an API key' },
      { key: 'connectDescriptor', href: at('/atlassian-connect.json'), label: 'Connect descriptor', what: `install "${d.appKey}" on a Confluence site from this URL` },
    ],
    operators: [
      { key: 'healthz', href: at('/healthz'), label: '/healthz', what: 'liveness' },
      { key: 'readyz', href: at('/readyz'), label: '/readyz', what: 'readiness: store and schema' },
      { key: 'metrics', href: at('/metrics'), label: '/metrics', what: 'Prometheus' },
    ],
  };
}

function EntryList(props: { items: Entry[] }) {
  return (
    <ul class="ob-links">
      {props.items.map((e) => (
        <li>
          <a href={e.href}>{e.label}</a> <span class="ob-muted">{e.what}</span>
        </li>
      ))}
    </ul>
  );
}

function LandingPage(props: { d: LandingDeps }) {
  const { d } = props;
  const list = entries(d);
  const target = d.atlassian;
  return (
    <Layout title={`${d.appName} gateway`} assetsBase={d.baseUrl}>
      <h1>
        {d.appName} <span class="ob-muted">gateway {d.version}</span>
      </h1>
      <p>Acts in Confluence Cloud on behalf of your users: links each of your user IDs to an Atlassian account, then calls Confluence as that user.</p>
      <section class={`ob-notice ${target.kind === 'production' ? 'ob-success' : ''}`} role="status" id="landing-status">
        <h2>Running</h2>
        <p>
          {target.kind === 'sandbox' ? (
            <>
              Talking to the <strong>sandbox</strong> at <a href={target.url}>{target.url}</a> (Confluence Cloud and Atlassian's auth servers, emulated; not production). Its home page links to each site's Confluence.
            </>
          ) : target.kind === 'overrides' ? (
            <>Talking to overridden Atlassian endpoints (not production).</>
          ) : (
            <>Talking to Atlassian Cloud.</>
          )}
        </p>
        <p>
          Routes: Connect app <code>{d.appKey}</code>
          {d.oauthConfigured ? ' · OAuth 2.0 (3LO)' : ' · OAuth 2.0 (3LO) not configured'}
          {d.forgeAppId ? (
            <>
              {' · '}Forge app <code>{d.forgeAppId}</code> (offline user tokens; its manifest: <code>onbehalf forge manifest</code>)
            </>
          ) : (
            ' · Forge not configured'
          )}
        </p>
      </section>
      <h2>For people</h2>
      <EntryList items={list.people} />
      <h2>For your backend</h2>
      <EntryList items={list.apps} />
      <h2>For operators</h2>
      <EntryList items={list.operators} />
    </Layout>
  );
}

const wantsHtml = (c: Context): boolean => /\btext\/html\b/i.test(c.req.header('accept') ?? '');

/**
 * `GET /`: what is running and where to go next, for a person with a browser; the same links as JSON for
 * anything else (a health probe or script pointed at the root gets data, not a page). the icon
 * (`/favicon.svg`, `/favicon.ico`) so no page of the gateway logs a 404 for its icon.
 */
export function landingRoutes(d: LandingDeps): RouteDef[] {
  return [
    {
      method: 'GET',
      path: '/',
      auth: 'public',
      summary: 'Landing page: what is running and links to the console, docs, OpenAPI and health (JSON unless the client accepts HTML).',
      handler: (c) => {
        if (wantsHtml(c)) return c.html(<LandingPage d={d} />);
        const list = entries(d);
        const links = Object.fromEntries([...list.people, ...list.apps, ...list.operators].map((e) => [e.key, e.href]));
        return c.json({ name: d.appName, version: d.version, atlassian: d.atlassian, links });
      },
    },
    ...['/favicon.svg', '/favicon.ico'].map(
      (path): RouteDef => ({
        method: 'GET',
        path,
        auth: 'public',
        summary: 'The icon of the gateway\'s pages (SVG; browsers ask for /favicon.ico on their own).',
        handler: (c) => c.body(FAVICON_SVG, 200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'public, max-age=86400' }),
      }),
    ),
  ];
}

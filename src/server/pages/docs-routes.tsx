import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GatewayError } from '../../errors.js';
import type { RouteDef } from '../routes.js';
import { Layout } from './layout.js';

/** The package's docs/ folder: three levels up from here both in src/ (tsx) and in dist/ (the npm package ships docs/). */
const DOCS_DIR = fileURLToPath(new URL('../../../docs/', import.meta.url));

interface Doc {
  name: string;
  title: string;
  text: string;
}

/** Read once, on first use: the files are part of the installed package and never change while it runs. */
function loadDocs(dir: string): Doc[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => /^[a-z0-9-]+\.md$/.test(n))
    .sort()
    .map((name) => {
      const text = readFileSync(`${dir}${name}`, 'utf8');
      const title = /^# (.+)$/m.exec(text)?.[1]?.trim() ?? name;
      return { name, title, text };
    });
}

/**
 * `/docs`: the user documentation that ships with the package, so the landing page can link to it from a
 * gateway with no network. Plain text (Markdown as written), never rendered: nothing in it can run.
 */
export function docsRoutes(d: { baseUrl: string; appName: string; docsDir?: string }): RouteDef[] {
  let docs: Doc[] | undefined;
  const all = () => (docs ??= loadDocs(d.docsDir ?? DOCS_DIR));
  return [
    {
      method: 'GET',
      path: '/docs',
      auth: 'public',
      summary: 'Index of the documentation shipped with the package.',
      handler: (c) =>
        c.html(
          <Layout title={`Documentation · ${d.appName}`} assetsBase={d.baseUrl}>
            <p class="ob-muted">
              <a href={`${d.baseUrl}/`}>{d.appName}</a> / documentation
            </p>
            <h1>Documentation</h1>
            {all().length === 0 ? (
              <p>This build does not ship its docs/ folder; see the project's README.</p>
            ) : (
              <ul class="ob-links" id="docs">
                {all().map((doc) => (
                  <li>
                    <a href={`${d.baseUrl}/docs/${doc.name}`}>{doc.title}</a> <span class="ob-muted">{doc.name}</span>
                  </li>
                ))}
              </ul>
            )}
            <p class="ob-muted">Markdown, shown as plain text.</p>
          </Layout>,
        ),
    },
    {
      method: 'GET',
      path: '/docs/:name',
      auth: 'public',
      summary: 'One documentation file (Markdown as plain text).',
      handler: (c) => {
        const doc = all().find((x) => x.name === c.req.param('name'));
        if (!doc) throw new GatewayError('NOT_FOUND', `There is no document ${c.req.param('name')}; the index is at /docs.`);
        return c.body(doc.text, 200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      },
    },
  ];
}

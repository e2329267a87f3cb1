import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';

/** What every signed-in page knows about the request: the console's URLs and the session's CSRF token. */
export interface PageFrame {
  basePath: string;
  csrf: string;
  appName: string;
  /** Short public label of the session (its id's first characters), shown next to Sign out. */
  sessionLabel: string;
}

export type Section = 'overview' | 'forge' | 'links' | 'link-sessions' | 'accounts' | 'mapping' | 'audit' | 'activity' | 'api-keys' | 'policies';

export const SECTIONS: readonly { key: Section; path: string; label: string }[] = [
  { key: 'overview', path: '', label: 'Overview' },
  { key: 'forge', path: '/forge', label: 'Forge' },
  { key: 'links', path: '/links', label: 'Users & links' },
  { key: 'link-sessions', path: '/link-sessions', label: 'Link sessions' },
  { key: 'accounts', path: '/accounts', label: 'Known accounts' },
  { key: 'mapping', path: '/mapping', label: 'Admin mapping' },
  { key: 'audit', path: '/audit', label: 'Audit log' },
  { key: 'activity', path: '/activity', label: 'Activity' },
  { key: 'api-keys', path: '/api-keys', label: 'API keys' },
  { key: 'policies', path: '/policies', label: 'Policies' },
];

export function adminUrl(basePath: string, path = ''): string {
  return `${basePath}/admin${path}`;
}

/** The bare document: one stylesheet, no script. */
export function AdminDocument(props: { title: string; basePath: string; children?: Child }) {
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title}</title>
        <link rel="icon" type="image/svg+xml" href={`${props.basePath}/favicon.svg`} />
        <link rel="stylesheet" href={`${props.basePath}/assets/admin.css`} />
      </head>
      <body>{props.children}</body>
      </html>
    </>
  );
}

/** Every signed-in page: skip link, banner with sign-out, section navigation, one main landmark. */
export function AdminPage(props: { frame: PageFrame; section: Section; title: string; children?: Child }) {
  const { frame } = props;
  return (
    <AdminDocument title={`${props.title} · ${frame.appName} admin`} basePath={frame.basePath}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={adminUrl(frame.basePath)}>
          {frame.appName} admin
        </a>
        <div class="who">
          <span>
            Session <span class="mono">{frame.sessionLabel}</span>
          </span>
          <form method="post" action={adminUrl(frame.basePath, '/sign-out')}>
            <CsrfField token={frame.csrf} />
            <button type="submit">Sign out</button>
          </form>
        </div>
      </header>
      <nav class="sections" aria-label="Console sections">
        <ul>
          {SECTIONS.map((s) => (
            <li>
              <a href={adminUrl(frame.basePath, s.path)} aria-current={s.key === props.section ? 'page' : undefined}>
                {s.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabindex={-1}>
        <h1>{props.title}</h1>
        {props.children}
      </main>
    </AdminDocument>
  );
}

export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

export function Notice(props: { kind: 'info' | 'success' | 'error' | 'warning'; children?: Child }) {
  return (
    <div class={`notice ${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

interface CellNode {
  tag: unknown;
  props: Record<string, unknown>;
  children: unknown[];
}
const isNode = (x: unknown): x is CellNode => typeof x === 'object' && x !== null && 'tag' in x && 'props' in x && 'children' in x;

/**
 * Names each data cell of a row after its column (`data-label`), so that at phone width, where rows stack into
 * cards, every value still says what it is. Works on the `<tr>` element a page writes; a row that is not a
 * plain `<tr>` is left as it is (it then stacks without labels).
 */
function labelCells(row: unknown, head: readonly string[]): void {
  if (!isNode(row) || row.tag !== 'tr') return;
  let i = 0;
  for (const cell of row.children.flat(4)) {
    if (!isNode(cell) || (cell.tag !== 'td' && cell.tag !== 'th')) continue;
    const label = head[i++];
    // The row header stays bare: on a phone it is the card's title.
    if (cell.tag === 'td' && label && cell.props['data-label'] === undefined) cell.props['data-label'] = label;
  }
}

/**
 * A table in a labelled region. Wide tables scroll sideways on a laptop; at phone width each row becomes a
 * card with every cell on its own line, labelled, so the status and action columns are never off-screen.
 */
export function DataTable(props: { id: string; caption: Child; head: readonly string[]; numeric?: readonly number[]; empty: string; rows: readonly Child[] }) {
  return (
    <div class="table-wrap" role="region" aria-labelledby={`${props.id}-caption`} tabindex={0}>
      <table id={props.id}>
        <caption id={`${props.id}-caption`}>{props.caption}</caption>
        <thead>
          <tr>
            {props.head.map((h, i) => (
              <th scope="col" class={props.numeric?.includes(i) ? 'num' : undefined}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr>
              <td colspan={props.head.length} class="muted">
                {props.empty}
              </td>
            </tr>
          ) : (
            props.rows.map((r) => {
              labelCells(r, props.head);
              return r;
            })
          )}
        </tbody>
      </table>
    </div>
  );
}

export function Status(props: { value: string }) {
  return <span class={`status ${props.value}`}>{props.value.replace(/_/g, ' ')}</span>;
}

export function Time(props: { at: number | null | undefined }) {
  if (props.at === null || props.at === undefined) return <span class="muted">never</span>;
  const iso = new Date(props.at).toISOString();
  return <time datetime={iso}>{`${iso.slice(0, 10)} ${iso.slice(11, 19)}`}</time>;
}

/** Previous/next links that keep the current filters. */
export function Pager(props: { url: string; params: URLSearchParams; page: number; hasNext: boolean; label: string }) {
  const to = (page: number) => {
    const p = new URLSearchParams(props.params);
    if (page <= 1) p.delete('page');
    else p.set('page', String(page));
    const q = p.toString();
    return q ? `${props.url}?${q}` : props.url;
  };
  if (props.page <= 1 && !props.hasNext) return null;
  return (
    <nav class="pager" aria-label={`${props.label} pages`}>
      {props.page > 1 ? <a href={to(props.page - 1)} rel="prev">← Newer</a> : <span />}
      <span class="muted">Page {props.page}</span>
      {props.hasNext ? <a href={to(props.page + 1)} rel="next">Older →</a> : <span />}
    </nav>
  );
}

import type { Child } from 'hono/jsx';

export interface LinksTableColumn<L> {
  header: Child;
  cell: (link: L) => Child;
}

/**
 * The table of links with one action per row that the consent, configure and 3LO manage pages share: the
 * same id (page scripts and tests find it by `#ob-links`), header scopes and a visually hidden action header.
 */
export function LinksTable<L>(p: { links: readonly L[]; columns: readonly LinksTableColumn<L>[]; action: (link: L) => Child; rowId?: (link: L) => string; hidden?: boolean }) {
  return (
    <table class="ob-table" id="ob-links" hidden={p.hidden ?? false}>
      <thead>
        <tr>
          {p.columns.map((c) => (
            <th scope="col">{c.header}</th>
          ))}
          <th scope="col">
            <span class="ob-visually-hidden">Action</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {p.links.map((l) => (
          <tr data-link={p.rowId?.(l)}>
            {p.columns.map((c) => (
              <td>{c.cell(l)}</td>
            ))}
            <td>{p.action(l)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

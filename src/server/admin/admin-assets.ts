/**
 * The admin console's stylesheet, served from memory at /assets/admin.css (no build step, no file
 * lookups). No script: every page works with plain links and forms. Colours keep at least 4.5:1 contrast;
 * focus is always visible; at phone width the navigation wraps and wide tables scroll inside their region.
 */
export const ADMIN_CSS = `
:root { --fg: #172b4d; --muted: #505f79; --accent: #0c66e4; --accent-dark: #0055cc; --danger: #ae2e24; --ok: #216e4e; --warn: #7f5f01; --bg: #fff; --panel: #f7f8f9; --line: #dcdfe4; --focus: #388bff; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent-dark); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible, [tabindex]:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: .5rem; top: -3rem; background: var(--fg); color: #fff; padding: .5rem .75rem; border-radius: 4px; z-index: 10; }
.skip:focus { top: .5rem; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header.top { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem 1rem; padding: .6rem 1.25rem; background: #1d2125; color: #fff; }
header.top .brand { color: #fff; font-weight: 700; text-decoration: none; font-size: 1.05rem; }
header.top .who { display: flex; align-items: center; gap: .75rem; font-size: .9rem; color: #c7d1db; }
header.top .who button { background: transparent; color: #fff; border: 1px solid #8c9bab; border-radius: 4px; padding: .3rem .7rem; font: inherit; cursor: pointer; }
nav.sections { background: var(--panel); border-bottom: 1px solid var(--line); }
nav.sections ul { list-style: none; margin: 0 auto; padding: 0 .75rem; display: flex; flex-wrap: wrap; max-width: 80rem; }
nav.sections a { display: block; padding: .6rem .7rem; text-decoration: none; color: var(--fg); border-bottom: 3px solid transparent; }
nav.sections a:hover { background: #eef0f2; }
nav.sections a[aria-current="page"] { border-bottom-color: var(--accent); font-weight: 600; color: var(--accent-dark); }
main { max-width: 80rem; margin: 0 auto; padding: 1.25rem 1.25rem 3rem; }
main.narrow { max-width: 28rem; }
h1 { font-size: 1.5rem; margin: .25rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 .6rem; }
p { margin: .5rem 0; }
.muted { color: var(--muted); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; overflow-wrap: anywhere; }
.notice { border-left: 4px solid var(--accent); background: #e9f2ff; padding: .6rem 1rem; margin: 1rem 0; border-radius: 0 4px 4px 0; }
.notice.error { border-color: var(--danger); background: #ffeceb; }
.notice.success { border-color: var(--ok); background: #dcfff1; }
.notice.warning { border-color: var(--warn); background: #fff7d6; }
.notice > :first-child { margin-top: 0; }
.notice > :last-child { margin-bottom: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); gap: 1rem; margin: 1rem 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.1rem; background: #fff; }
.card h2 { margin: 0 0 .5rem; font-size: 1rem; }
.card dl { display: grid; grid-template-columns: 1fr auto; gap: .2rem 1rem; margin: 0; }
.card dt { color: var(--muted); }
.card dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 600; text-align: right; }
.big { font-size: 2rem; font-weight: 700; line-height: 1.1; }
form.filters > a { align-self: center; margin-top: 1.4rem; }
form.filters { display: flex; flex-wrap: wrap; align-items: flex-end; gap: .75rem 1rem; padding: .9rem 1rem; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; margin: 0 0 1rem; }
.field { display: flex; flex-direction: column; gap: .25rem; min-width: 0; }
form:not(.filters) > .field { margin: 0 0 1rem; }
form:not(.filters) > .field > select, form:not(.filters) > .field > input { align-self: flex-start; width: 100%; max-width: 32rem; }
.field label, .field .label { font-weight: 600; font-size: .9rem; }
.field .hint { font-size: .85rem; color: var(--muted); }
input[type="text"], input[type="search"], input[type="password"], input[type="datetime-local"], select { min-height: 2.4rem; }
input[type="text"], input[type="search"], input[type="password"], input[type="datetime-local"], select, textarea { font: inherit; color: var(--fg); padding: .45rem .55rem; border: 1px solid #8590a2; border-radius: 4px; background: #fff; max-width: 100%; }
textarea { width: 100%; min-height: 9rem; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9rem; }
fieldset { border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; margin: 1rem 0; }
legend { font-weight: 600; padding: 0 .25rem; }
.choice { display: flex; gap: .5rem; align-items: flex-start; margin: .35rem 0; }
.choice input { margin-top: .3rem; }
.button { appearance: none; display: inline-block; border: 1px solid var(--accent); border-radius: 4px; padding: .45rem 1rem; font: inherit; font-weight: 600; cursor: pointer; background: var(--accent); color: #fff; text-decoration: none; line-height: 1.5; }
.button:hover { background: var(--accent-dark); }
.button.secondary { background: #fff; color: var(--fg); border-color: #8590a2; }
.button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
.button.small { padding: .2rem .6rem; font-size: .88rem; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; margin: 1rem 0; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; margin: 0 0 1rem; }
table { width: 100%; border-collapse: collapse; font-size: .92rem; }
caption { text-align: left; font-weight: 600; padding: .6rem .75rem; background: var(--panel); border-bottom: 1px solid var(--line); }
th, td { text-align: left; padding: .5rem .75rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: .82rem; text-transform: uppercase; letter-spacing: .02em; color: var(--muted); white-space: nowrap; }
tbody tr:last-child > * { border-bottom: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.table-wrap .mono, .table-wrap time, .table-wrap .status { white-space: nowrap; overflow-wrap: normal; }
.table-wrap td.wrap { white-space: normal; min-width: 12rem; max-width: 24rem; overflow-wrap: anywhere; }
.table-wrap td.wrap .pair { display: block; }
.table-wrap td.ids { max-width: 15rem; }
.table-wrap td.request-id { white-space: normal; overflow-wrap: anywhere; min-width: 9rem; max-width: 12rem; }
.table-wrap td.ids .mono { white-space: normal; overflow-wrap: anywhere; }
.table-wrap tbody th[scope="row"] { position: sticky; left: 0; background: #fff; z-index: 1; box-shadow: 1px 0 0 var(--line); }
.table-wrap .sub { display: block; font-size: .82rem; color: var(--muted); }
td form { margin: 0; }
ul.plain { list-style: none; margin: 0; padding: 0; }
dl.pairs { display: grid; grid-template-columns: auto 1fr; gap: 0 .5rem; margin: 0; }
dl.pairs dt { color: var(--muted); font-weight: 400; }
dl.pairs dd { margin: 0; }
.small { font-size: .8rem; font-weight: 400; }
.status { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .82rem; font-weight: 600; white-space: nowrap; background: #eef0f2; color: var(--fg); }
.status.linked, .status.active, .status.valid { background: #dcfff1; color: var(--ok); }
.status.revoked, .status.uninstalled, .status.denied, .status.expired, .status.missing, .status.rejected { background: #ffeceb; color: var(--danger); }
.status.reauth_required, .status.pending_confirmation, .status.pending, .status.disabled, .status.expiring { background: #fff7d6; color: var(--warn); }
.pager { display: flex; gap: 1rem; align-items: center; justify-content: space-between; flex-wrap: wrap; margin: .5rem 0 1.5rem; }
input.secret { display: block; width: 100%; border: 0; font-size: .95rem; padding: .75rem; background: #1d2125; color: #fff; border-radius: 6px; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; user-select: all; }
dl.details { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.25rem; margin: 1rem 0; }
dl.details dt { color: var(--muted); }
dl.details dd { margin: 0; overflow-wrap: anywhere; }
figure.chart { margin: 1rem 0; border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; }
figure.chart svg { display: block; width: 100%; height: auto; max-height: 14rem; }
figure.chart figcaption { font-weight: 600; margin-bottom: .5rem; }
.chart .bar-connect { fill: #0c66e4; }
.chart .bar-oauth { fill: #6e5dc6; }
.chart .axis { stroke: #8590a2; stroke-width: 1; }
.chart .grid { stroke: #dcdfe4; stroke-width: 1; }
.chart text { fill: #505f79; font-size: 11px; font-family: inherit; }
.legend { display: flex; gap: 1rem; flex-wrap: wrap; font-size: .88rem; margin: .5rem 0 0; padding: 0; list-style: none; }
.legend .swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .35rem; vertical-align: -1px; }
.swatch.connect { background: #0c66e4; }
.swatch.oauth { background: #6e5dc6; }
.card h3 { margin: 0 0 .75rem; font-size: 1rem; }
form.card > .field { margin: 0 0 .75rem; }
form.card > .field > input, form.card > .field > select { width: 100%; max-width: none; }
pre.preview { max-height: 24rem; overflow: auto; margin: .5rem 0 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .75rem; font-size: .85rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.table-wrap th.call { white-space: normal; overflow-wrap: anywhere; min-width: 12rem; font-weight: 400; }
details.more summary { cursor: pointer; color: var(--accent-dark); }
@media (max-width: 40rem) {
  header.top { padding: .5rem .75rem; }
  nav.sections ul { padding: 0 .25rem; }
  nav.sections a { padding: .45rem .5rem; font-size: .92rem; }
  main { padding: 1rem .75rem 2.5rem; }
  h1 { font-size: 1.3rem; }
  form.filters { padding: .75rem; }
  form.filters .field, form.filters input, form.filters select { width: 100%; }
  dl.details { grid-template-columns: 1fr; gap: 0; }
  dl.details dd { margin-bottom: .5rem; }
  .actions .button { flex: 1 1 auto; text-align: center; }
  /* Tables become one card per row: every cell on its own line, named by its column (data-label). */
  .table-wrap { overflow-x: visible; }
  .table-wrap table, .table-wrap tbody, .table-wrap tr, .table-wrap td, .table-wrap tbody th { display: block; width: 100%; }
  .table-wrap caption { display: block; }
  .table-wrap thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .table-wrap tbody tr { padding: .6rem .75rem; border-bottom: 1px solid var(--line); }
  .table-wrap tbody tr:last-child { border-bottom: 0; }
  .table-wrap td, .table-wrap tbody th { border: 0; padding: .15rem 0; text-align: left; }
  .table-wrap td:empty { display: none; }
  .table-wrap tbody th[scope="row"] { position: static; box-shadow: none; font-size: 1rem; }
  .table-wrap [data-label]::before { content: attr(data-label); display: inline-block; min-width: 7.5rem; margin-right: .5rem; color: var(--muted); font-size: .82rem; font-weight: 400; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Arial, sans-serif; text-transform: none; }
  .table-wrap .mono, .table-wrap time, .table-wrap .status { white-space: normal; overflow-wrap: anywhere; }
  .table-wrap td.wrap { min-width: 0; max-width: none; }
  .table-wrap td.num { text-align: left; }
  /* The chart shrinks to about 45% on a phone; labels grow in its own units to stay about 11 px on screen. */
  .chart text { font-size: 24px; }
}
`;

import type { Context, Handler } from 'hono';
import { isGatewayError } from '../../errors.js';
import { redactString } from '../../redact.js';
import { ERROR_STATUS } from '../error-status.js';
import type { ActivityEntry, ActivityFilter } from '../api/activity-log.js';
import type { RouteDef } from '../routes.js';
import { adminOf, formOf, type AdminDeps } from './admin-deps.js';
import { AdminPage, adminUrl, CsrfField, DataTable, Notice, Time } from './admin-layout.js';
import { oneOf, siteChoices, text, type SiteChoice } from './admin-sites.js';
import { FilterButtons, SelectField, TextField, valueOptions } from './filter-fields.js';

const OUTCOMES = ['2xx', '3xx', '4xx', '5xx', 'refused'] as const;
const CONSOLE_CALLER = 'admin console';
/** How much of a test call's answer the page shows. */
const PREVIEW_BYTES = 4096;

type TryResult =
  | { kind: 'session'; externalUserId: string; url: string; expiresAt: number }
  | { kind: 'call'; externalUserId: string; path: string; status: number; contentType: string; body: string; truncated: boolean }
  | { kind: 'refused'; message: string };

/**
 * The activity view: the last act-as calls this instance served (an inspector for the last minutes, like
 * ngrok's or Stripe's), filterable, and a "try it" form that starts a link session or makes a test GET as
 * a linked user. Read from the in-memory ring (`api/activity-log.ts`); nothing here touches the hot path.
 */
export function activityRoutes(deps: AdminDeps): RouteDef[] {
  const log = deps.activity;

  const render = async (c: Context, opts: { result?: TryResult; status?: 200 | 400; form?: Record<string, string> } = {}) => {
    const { frame } = adminOf(c);
    const sites = await siteChoices(deps.repos, deps.appKey);
    const f = {
      user: text(c.req.query('user')),
      site: text(c.req.query('site'), 100),
      caller: text(c.req.query('caller'), 100),
      outcome: oneOf(c.req.query('outcome'), OUTCOMES),
    };
    const filter: ActivityFilter = {
      ...(f.user ? { externalUserId: f.user } : {}),
      ...(f.site ? { site: f.site } : {}),
      ...(f.caller ? { caller: f.caller } : {}),
      ...(f.outcome ? { outcome: f.outcome } : {}),
      limit: 200,
    };
    const entries = log ? log.list(filter) : [];
    const callers = log ? [...new Set(log.list().map((e) => e.caller))].sort() : [];
    const url = adminUrl(frame.basePath, '/activity');
    const form = opts.form ?? {};
    return c.html(
      <AdminPage frame={frame} section="activity" title="Activity">
        <p class="muted" id="activity-scope">
          The last {log?.capacity ?? 0} act-as calls (the <code>/v1/act</code> proxy and this page's test calls) served by <strong>this gateway instance</strong>, kept in memory only:
          other instances keep their own, and a restart empties it. {log ? `${log.total} recorded since start.` : ''} Tokens are never recorded; credential-like query values are hidden.
          The audit log is the durable record.
        </p>
        {opts.result ? <TryResultNotice result={opts.result} /> : null}
        <form class="filters" method="get" action={url} role="search" aria-label="Filter the activity">
          <TextField id="user" label="User ID" value={f.user} />
          <SelectField id="site" label="Site" options={sites.map((s) => ({ value: s.key, label: s.key }))} selected={f.site} any="Any" />
          <SelectField id="caller" label="Caller" options={callers.map((x) => ({ value: x, label: x }))} selected={f.caller} any="Any" />
          <SelectField id="outcome" label="Outcome" options={valueOptions(OUTCOMES)} selected={f.outcome} any="Any" />
          <FilterButtons label="Filter" clearHref={url} />
        </form>
        <DataTable
          id="activity"
          caption={`Act-as calls, newest first${entries.length === 200 ? ' (the latest 200 that match)' : ''}`}
          head={['When (UTC)', 'Status', 'Call', 'As', 'Caller', 'Route', 'Latency', 'Request ID']}
          numeric={[6]}
          empty={log ? 'No act-as calls match yet. Make one with the form below.' : 'Activity recording is off in this gateway.'}
          rows={entries.map((e) => ActivityRow({ e }))}
        />
        <TryItForms url={url} csrf={frame.csrf} sites={sites} form={form} />
      </AdminPage>,
      opts.status ?? 200,
    );
  };

  const list: Handler = (c) => render(c);

  const tryIt: Handler = async (c) => {
    const admin = adminOf(c);
    const form = await formOf(c);
    const externalUserId = (form['externalUserId'] ?? '').trim();
    const siteKey = (form['site'] ?? '').trim();
    const sites = await siteChoices(deps.repos, deps.appKey);
    const site = sites.find((s) => s.key === siteKey);
    if (!externalUserId || !site) return render(c, { status: 400, form, result: { kind: 'refused', message: 'Give a user ID and pick a site; nothing was done.' } });

    if (form['action'] === 'link') {
      const route = form['route'] === 'oauth' ? 'oauth' : 'connect';
      try {
        // Started by a signed-in admin for a person they hand the URL to: no completion step, since there is
        // no backend to redeem a code (the admin is that check). Audited as the admin's act.
        const s = await deps.tryIt.linkSessions.start({ externalUserId, route, cloudId: site.cloudId, requireConfirmation: false });
        await deps.repos.audit.append({ action: 'link_session.started_in_console', actorType: 'admin', actorId: admin.actorId, externalUserId, cloudId: site.cloudId, route, data: { linkSessionId: s.id } });
        return render(c, { form, result: { kind: 'session', externalUserId, url: s.url, expiresAt: s.expiresAt } });
      } catch (e) {
        if (!isGatewayError(e)) throw e;
        return render(c, { status: 400, form, result: { kind: 'refused', message: `${e.code}: ${e.message}` } });
      }
    }

    const path = (form['path'] ?? '').trim() || '/api/v2/spaces?limit=5';
    if (!path.startsWith('/') || path.startsWith('//')) return render(c, { status: 400, form, result: { kind: 'refused', message: 'The path is relative to the site\'s API, e.g. /api/v2/spaces?limit=5; nothing was sent.' } });
    const started = deps.clock.now();
    const note = (entry: Pick<ActivityEntry, 'accountId' | 'route' | 'upstreamStatus' | 'status' | 'error'>) =>
      log?.record({ at: started, requestId: (c.get('requestId') as string | undefined) ?? '', caller: CONSOLE_CALLER, externalUserId, site: site.key, method: 'GET', path, latencyMs: deps.clock.now() - started, ...entry });
    let client;
    try {
      client = await deps.tryIt.acting.asUser({ site: site.key, externalUserId });
      const res = await client.fetch(path, { method: 'GET', headers: { accept: 'application/json' } });
      note({ accountId: client.accountId ?? null, route: client.route ?? null, upstreamStatus: res.status, status: res.status, error: null });
      const bytes = new Uint8Array(await res.arrayBuffer());
      const body = new TextDecoder().decode(bytes.subarray(0, PREVIEW_BYTES));
      return render(c, { form, result: { kind: 'call', externalUserId, path, status: res.status, contentType: res.headers.get('content-type') ?? '', body: pretty(body, bytes.length > PREVIEW_BYTES), truncated: bytes.length > PREVIEW_BYTES } });
    } catch (e) {
      if (!isGatewayError(e)) throw e;
      note({ accountId: client?.accountId ?? null, route: client?.route ?? null, upstreamStatus: null, status: ERROR_STATUS[e.code], error: e.code });
      return render(c, { status: 400, form, result: { kind: 'refused', message: `${e.code}: ${e.message}` } });
    }
  };

  return [
    { method: 'GET', path: '/admin/activity', auth: 'admin', summary: 'Admin console: the last act-as calls of this instance (in memory), with filters and a "try it" form.', handler: list },
    { method: 'POST', path: '/admin/activity/try', auth: 'admin', summary: 'Admin console: starts a link session or makes a test GET as a linked user.', handler: tryIt },
  ];
}

/** JSON answers are indented for reading; anything else (or a cut-off JSON) is shown as it came. */
function pretty(body: string, truncated: boolean): string {
  if (truncated) return body;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function outcomeClass(e: ActivityEntry): string {
  if (e.upstreamStatus === null) return 'denied';
  return e.upstreamStatus < 400 ? 'active' : e.upstreamStatus < 500 ? 'pending' : 'denied';
}

function ActivityRow(props: { e: ActivityEntry }) {
  const { e } = props;
  return (
    <tr>
      <td>
        <Time at={e.at} />
      </td>
      <td>
        <span class={`status ${outcomeClass(e)}`}>{e.upstreamStatus ?? e.status}</span>
        {e.error ? <span class="sub mono">{e.error}</span> : null}
      </td>
      <th scope="row" class="mono call">
        {e.method} {redactString(e.path)}
      </th>
      <td>
        <span class="mono">{e.externalUserId}</span>
        <span class="sub mono">{e.accountId ?? 'no account'}</span>
      </td>
      <td>{e.caller}</td>
      <td>
        {e.site}
        <span class="sub">{e.route ?? ''}</span>
      </td>
      <td class="num">{e.latencyMs} ms</td>
      <td class="mono request-id">{e.requestId}</td>
    </tr>
  );
}

function TryResultNotice(props: { result: TryResult }) {
  const r = props.result;
  if (r.kind === 'refused') {
    return (
      <Notice kind="error">
        <p id="try-result">{r.message}</p>
      </Notice>
    );
  }
  if (r.kind === 'session') {
    return (
      <Notice kind="success">
        <p id="try-result">
          Link session for <strong>{r.externalUserId}</strong> started (valid until <Time at={r.expiresAt} /> UTC). Send this URL to that person only: whoever opens it and clicks Allow is
          linked.
        </p>
        <input id="try-link-url" class="secret" type="text" readonly value={r.url} aria-label="Link session URL" spellcheck={false} autocomplete="off" />
      </Notice>
    );
  }
  return (
    <Notice kind={r.status < 400 ? 'success' : 'warning'}>
      <p id="try-result">
        GET <code>{redactString(r.path)}</code> as <strong>{r.externalUserId}</strong>: Confluence answered <strong>{r.status}</strong> {r.contentType ? <span class="muted">({r.contentType})</span> : null}
        {r.truncated ? ` (first ${PREVIEW_BYTES} bytes)` : ''}
      </p>
      <pre class="preview">{r.body}</pre>
    </Notice>
  );
}

function TryItForms(props: { url: string; csrf: string; sites: SiteChoice[]; form: Record<string, string> }) {
  const { form } = props;
  const siteField = (id: string) => <SelectField id={id} name="site" label="Site" options={props.sites.map((s) => ({ value: s.key, label: s.key }))} selected={form['site']} />;
  if (props.sites.length === 0) return <p class="muted">Install the app on a site to try calls here.</p>;
  return (
    <>
      <h2 id="try-heading">Try it</h2>
      <div class="cards">
        <form class="card" method="post" action={`${props.url}/try`} aria-labelledby="try-call-heading">
          <h3 id="try-call-heading">Call Confluence as a linked user</h3>
          <CsrfField token={props.csrf} />
          <input type="hidden" name="action" value="call" />
          <TextField id="call-user" name="externalUserId" label="User ID" type="text" value={form['action'] === 'call' ? form['externalUserId'] : undefined} placeholder="demo-alice" />
          {siteField('call-site')}
          <TextField id="call-path" name="path" label="GET path (relative to the site's API)" type="text" value={form['action'] === 'call' ? form['path'] : '/api/v2/spaces?limit=5'} />
          <div class="actions">
            <button class="button" type="submit">
              Send GET
            </button>
          </div>
        </form>
        <form class="card" method="post" action={`${props.url}/try`} aria-labelledby="try-link-heading">
          <h3 id="try-link-heading">Start a link session</h3>
          <CsrfField token={props.csrf} />
          <input type="hidden" name="action" value="link" />
          <TextField id="link-user" name="externalUserId" label="User ID" type="text" value={form['action'] === 'link' ? form['externalUserId'] : undefined} placeholder="demo-bob" />
          {siteField('link-site')}
          <SelectField id="link-route" name="route" label="Route" options={[{ value: 'connect', label: 'Connect (consent inside Confluence)' }, { value: 'oauth', label: 'OAuth 2.0 (Atlassian sign-in)' }]} selected={form['route'] ?? 'connect'} />
          <div class="actions">
            <button class="button secondary" type="submit">
              Start link session
            </button>
          </div>
        </form>
      </div>
    </>
  );
}

import type { Context, Handler } from 'hono';
import { GatewayError } from '../../errors.js';
import type { ApiKey } from '../../store/api-keys-repo.js';
import type { RouteDef } from '../routes.js';
import { adminOf, formAll, formOf, type AdminDeps } from './admin-deps.js';
import { AdminPage, adminUrl, CsrfField, DataTable, Notice, Time } from './admin-layout.js';
import { siteChoices, type SiteChoice } from './admin-sites.js';

/** API keys: list, create (the key is shown once, only its hash is kept), limit to sites, revoke. */
export function apiKeysRoutes(deps: AdminDeps): RouteDef[] {
  const render = async (c: Context, opts: { status?: 200 | 400; problem?: string; created?: { key: ApiKey; secret: string }; done?: string; name?: string }) => {
    const { frame } = adminOf(c);
    const all = c.req.query('all') === '1';
    const [keys, sites] = await Promise.all([deps.repos.apiKeys.list({ includeRevoked: all }), siteChoices(deps.repos, deps.appKey)]);
    const siteName = new Map(sites.map((s) => [s.cloudId, s.key]));
    const url = adminUrl(frame.basePath, '/api-keys');
    return c.html(
      <AdminPage frame={frame} section="api-keys" title="API keys">
        {opts.created ? (
          <Notice kind="success">
            <p>
              API key <strong>{opts.created.key.name}</strong> was created. Copy it now: it is shown only once, and the gateway keeps only its hash.
            </p>
            <div class="field">
              <label for="new-key">New API key</label>
              <input id="new-key" class="secret" type="text" readonly value={opts.created.secret} spellcheck={false} autocomplete="off" />
            </div>
            <p>Send it as <code>Authorization: Bearer &lt;key&gt;</code>.</p>
          </Notice>
        ) : null}
        {opts.done === 'revoked' ? (
          <Notice kind="success">
            <p>The API key was revoked; requests with it are refused from now on.</p>
          </Notice>
        ) : null}
        {opts.problem ? (
          <Notice kind="error">
            <p>{opts.problem}</p>
          </Notice>
        ) : null}
        <DataTable
          id="api-keys"
          caption={all ? 'API keys, revoked ones included' : 'Live API keys'}
          head={['Name', 'Prefix', 'Sites', 'Created', 'Last used', 'Status', '']}
          empty="No API keys yet."
          rows={keys.map((k) => (
            <tr>
              <th scope="row">{k.name}</th>
              <td class="mono">{k.prefix}…</td>
              <td>{k.sites ? k.sites.map((s) => siteName.get(s) ?? s).join(', ') : <span class="muted">all sites</span>}</td>
              <td>
                <Time at={k.createdAt} />
              </td>
              <td>
                <Time at={k.lastUsedAt} />
              </td>
              <td>{k.revokedAt ? <span class="status revoked">revoked</span> : <span class="status active">live</span>}</td>
              <td>{k.revokedAt ? null : <a href={`${url}/${encodeURIComponent(k.id)}/revoke`} aria-label={`Revoke API key ${k.name}`}>Revoke…</a>}</td>
            </tr>
          ))}
        />
        <p>{all ? <a href={url}>Hide revoked keys</a> : <a href={`${url}?all=1`}>Show revoked keys too</a>}</p>
        <h2 id="create-heading">Create an API key</h2>
        <form method="post" action={url} aria-labelledby="create-heading">
          <CsrfField token={frame.csrf} />
          <div class="field">
            <label for="name">Name</label>
            <input id="name" name="name" type="text" required maxlength={100} value={opts.name ?? ''} aria-describedby="name-hint" autocomplete="off" />
            <span class="hint" id="name-hint">
              A label to tell keys apart: letters, digits, spaces or . _ : @ -
            </span>
          </div>
          <SitesField sites={sites} />
          <div class="actions">
            <button class="button" type="submit">
              Create API key
            </button>
          </div>
        </form>
      </AdminPage>,
      opts.status ?? 200,
    );
  };

  const list: Handler = (c) => render(c, { ...(c.req.query('done') ? { done: c.req.query('done') as string } : {}) });

  const create: Handler = async (c) => {
    const admin = adminOf(c);
    const form = await formOf(c);
    const chosen = await formAll(c, 'sites');
    const sites = await siteChoices(deps.repos, deps.appKey);
    const unknown = chosen.filter((s) => !sites.some((x) => x.cloudId === s));
    if (unknown.length > 0) return render(c, { status: 400, problem: 'Pick sites from the list; nothing was created.', name: form['name'] ?? '' });
    let created;
    try {
      created = await deps.repos.apiKeys.create({ name: form['name'] ?? '', sites: chosen.length > 0 ? chosen : null });
    } catch (e) {
      if (e instanceof GatewayError && e.code === 'VALIDATION_FAILED') return render(c, { status: 400, problem: `${e.message} Nothing was created.`, name: form['name'] ?? '' });
      throw e;
    }
    await deps.repos.audit.append({ action: 'api_key.created', actorType: 'admin', actorId: admin.actorId, data: { apiKeyId: created.apiKey.id, name: created.apiKey.name, sites: created.apiKey.sites } });
    return render(c, { created: { key: created.apiKey, secret: created.secret } });
  };

  const confirm: Handler = async (c) => {
    const { frame } = adminOf(c);
    const key = (await deps.repos.apiKeys.list({ includeRevoked: true })).find((k) => k.id === c.req.param('id'));
    if (!key) throw new GatewayError('NOT_FOUND', 'There is no such API key.');
    const url = adminUrl(frame.basePath, '/api-keys');
    return c.html(
      <AdminPage frame={frame} section="api-keys" title={`Revoke API key ${key.name}`}>
        {key.revokedAt ? (
          <p>
            This key was already revoked on <Time at={key.revokedAt} />.
          </p>
        ) : (
          <>
            <p>
              Requests with the key <strong>{key.name}</strong> (<code>{key.prefix}…</code>, last used <Time at={key.lastUsedAt} />) will be refused at once. This cannot be
              undone: the backend using it needs a new key.
            </p>
            <form method="post" action={`${url}/${encodeURIComponent(key.id)}/revoke`}>
              <CsrfField token={frame.csrf} />
              <div class="actions">
                <button class="button danger" type="submit">
                  Revoke {key.name}
                </button>
                <a href={url}>Cancel</a>
              </div>
            </form>
          </>
        )}
      </AdminPage>,
    );
  };

  const revoke: Handler = async (c) => {
    const admin = adminOf(c);
    const id = c.req.param('id') ?? '';
    const key = (await deps.repos.apiKeys.list({ includeRevoked: true })).find((k) => k.id === id);
    if (!key) throw new GatewayError('NOT_FOUND', 'There is no such API key.');
    if (await deps.repos.apiKeys.revoke(key.id)) {
      await deps.repos.audit.append({ action: 'api_key.revoked', actorType: 'admin', actorId: admin.actorId, data: { apiKeyId: key.id, name: key.name } });
    }
    return c.redirect(`${adminUrl(admin.frame.basePath, '/api-keys')}?done=revoked`, 303);
  };

  return [
    { method: 'GET', path: '/admin/api-keys', auth: 'admin', summary: 'Admin console: API keys (never the keys themselves).', handler: list },
    { method: 'POST', path: '/admin/api-keys', auth: 'admin', summary: 'Admin console: creates an API key, shown once (audited).', handler: create },
    { method: 'GET', path: '/admin/api-keys/:id/revoke', auth: 'admin', summary: 'Admin console: confirmation before revoking an API key.', handler: confirm },
    { method: 'POST', path: '/admin/api-keys/:id/revoke', auth: 'admin', summary: 'Admin console: revokes an API key (audited).', handler: revoke },
  ];
}

function SitesField(props: { sites: readonly SiteChoice[] }) {
  if (props.sites.length === 0) return <p class="muted">The key will work on every site (no site has installed the app yet).</p>;
  return (
    <fieldset>
      <legend>Limit to sites</legend>
      <p class="hint muted">Leave all unticked for a key that works on every site.</p>
      {props.sites.map((s) => (
        <div class="choice">
          <input type="checkbox" id={`site-${s.cloudId}`} name="sites" value={s.cloudId} />
          <label for={`site-${s.cloudId}`}>{s.label}</label>
        </div>
      ))}
    </fieldset>
  );
}

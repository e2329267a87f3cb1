import type { Context, Handler } from 'hono';
import { GatewayError } from '../../errors.js';
import { ACTING_MODES, checkPolicyInput } from '../../identity/policy-input.js';
import type { ActingMode, Policy } from '../../store/policies-repo.js';
import type { RouteDef } from '../routes.js';
import { adminOf, formAll, formOf, type AdminDeps } from './admin-deps.js';
import { AdminPage, adminUrl, CsrfField, DataTable, Notice, Time } from './admin-layout.js';
import { siteChoices, type SiteChoice } from './admin-sites.js';

const ACTING_TEXT: Record<ActingMode, string> = {
  linked_only: 'Only users who linked with consent (Connect page, Forge page or 3LO). The default.',
  admin_mapped: 'Also users an admin mapped (console, configure page or API).',
  any_user: 'Any account on the site, without a link (Connect impersonation, or Forge offline user tokens as anyone the app may impersonate). Use with care.',
};

/** Per-site policy: who the gateway may act as, and which scopes each route may use there. */
export function policiesRoutes(deps: AdminDeps): RouteDef[] {
  const list: Handler = async (c) => {
    const { frame } = adminOf(c);
    const sites = await siteChoices(deps.repos, deps.appKey);
    const policies = await Promise.all(sites.map((s) => deps.repos.policies.get(s.cloudId)));
    return c.html(
      <AdminPage frame={frame} section="policies" title="Policies">
        <p class="muted">Each site has a policy. Without one, the gateway acts only as users who linked with consent, with the scopes configured for each route.</p>
        <DataTable
          id="policies"
          caption="Policy per site"
          head={['Site', 'Acting', 'Connect scopes', '3LO scopes', 'Changed', '']}
          empty="No site has installed the app yet."
          rows={sites.map((s, i) => {
            const p = policies[i] as Policy;
            return (
              <tr>
                <th scope="row">{s.label}</th>
                <td>{p.acting.replace(/_/g, ' ')}</td>
                <td class="mono">{p.allowedScopes.connect?.join(' ') ?? <span class="muted">defaults</span>}</td>
                <td class="mono">{p.allowedScopes.oauth?.join(' ') ?? <span class="muted">defaults</span>}</td>
                <td>{p.updatedAt ? <Time at={p.updatedAt} /> : <span class="muted">never (default)</span>}</td>
                <td>
                  <a href={adminUrl(frame.basePath, `/policies/${encodeURIComponent(s.cloudId)}`)} aria-label={`Edit the policy of ${s.key}`}>
                    Edit
                  </a>
                </td>
              </tr>
            );
          })}
        />
      </AdminPage>,
    );
  };

  const siteOf = async (c: Context): Promise<SiteChoice> => {
    const site = (await siteChoices(deps.repos, deps.appKey)).find((s) => s.cloudId === c.req.param('cloudId'));
    if (!site) throw new GatewayError('NOT_FOUND', 'The gateway knows no such site.');
    return site;
  };

  const editor = async (c: Context, site: SiteChoice, opts: { status?: 200 | 400; problems?: string[]; done?: boolean; shown?: Pick<Policy, 'acting' | 'allowedScopes'> }) => {
    const { frame } = adminOf(c);
    const stored = await deps.repos.policies.get(site.cloudId);
    const p = opts.shown ?? stored;
    const url = adminUrl(frame.basePath, `/policies/${encodeURIComponent(site.cloudId)}`);
    return c.html(
      <AdminPage frame={frame} section="policies" title={`Policy of ${site.key}`}>
        <p>
          <a href={adminUrl(frame.basePath, '/policies')}>← All policies</a>
        </p>
        {opts.done ? (
          <Notice kind="success">
            <p>The policy was saved. It applies to the next request.</p>
          </Notice>
        ) : null}
        {opts.problems && opts.problems.length > 0 ? (
          <Notice kind="error">
            <p>Nothing was saved:</p>
            <ul>
              {opts.problems.map((m) => (
                <li>{m}</li>
              ))}
            </ul>
          </Notice>
        ) : null}
        <p class="muted">
          {site.label}. Last changed: {stored.updatedAt ? <Time at={stored.updatedAt} /> : 'never'}
          {stored.updatedBy ? ` by ${stored.updatedBy}` : ''}.
        </p>
        <form method="post" action={url}>
          <CsrfField token={frame.csrf} />
          <fieldset>
            <legend>Who the gateway may act as</legend>
            {ACTING_MODES.map((m) => (
              <div class="choice">
                <input type="radio" id={`acting-${m}`} name="acting" value={m} checked={p.acting === m} />
                <label for={`acting-${m}`}>
                  <strong>{m.replace(/_/g, ' ')}</strong>: {ACTING_TEXT[m]}
                </label>
              </div>
            ))}
          </fieldset>
          {(['connect', 'oauth'] as const).map((route) => (
            <ScopesFieldset route={route} configured={deps.routeScopes[route]} chosen={p.allowedScopes[route] ?? null} />
          ))}
          <div class="actions">
            <button class="button" type="submit">
              Save policy
            </button>
            <a href={adminUrl(frame.basePath, '/policies')}>Cancel</a>
          </div>
        </form>
      </AdminPage>,
      opts.status ?? 200,
    );
  };

  const edit: Handler = async (c) => editor(c, await siteOf(c), { done: c.req.query('done') === 'saved' });

  const save: Handler = async (c) => {
    const admin = adminOf(c);
    const site = await siteOf(c);
    const form = await formOf(c);
    const scopesOf = async (route: 'connect' | 'oauth') => (form[`${route}Mode`] === 'narrow' ? formAll(c, `${route}Scopes`) : null);
    const input = { acting: form['acting'], allowedScopes: { connect: await scopesOf('connect'), oauth: await scopesOf('oauth') } };
    const checked = checkPolicyInput(input, deps.routeScopes);
    if (!checked.ok) {
      const shown = {
        acting: (ACTING_MODES.includes(input.acting as ActingMode) ? input.acting : 'linked_only') as ActingMode,
        allowedScopes: { ...(input.allowedScopes.connect ? { connect: input.allowedScopes.connect } : {}), ...(input.allowedScopes.oauth ? { oauth: input.allowedScopes.oauth } : {}) },
      };
      return editor(c, site, { status: 400, problems: checked.problems.map((p) => p.message), shown });
    }
    const saved = await deps.repos.policies.set(site.cloudId, { acting: checked.acting, allowedScopes: checked.allowedScopes }, admin.actorId);
    await deps.repos.audit.append({ action: 'policy.changed', actorType: 'admin', actorId: admin.actorId, cloudId: site.cloudId, reason: saved.acting, data: { allowedScopes: saved.allowedScopes } });
    return c.redirect(`${adminUrl(admin.frame.basePath, `/policies/${encodeURIComponent(site.cloudId)}`)}?done=saved`, 303);
  };

  return [
    { method: 'GET', path: '/admin/policies', auth: 'admin', summary: 'Admin console: the policy of every site.', handler: list },
    { method: 'GET', path: '/admin/policies/:cloudId', auth: 'admin', summary: "Admin console: a site's policy editor.", handler: edit },
    { method: 'POST', path: '/admin/policies/:cloudId', auth: 'admin', summary: "Admin console: saves a site's policy (validated, audited).", handler: save },
  ];
}

function ScopesFieldset(props: { route: 'connect' | 'oauth'; configured: readonly string[]; chosen: readonly string[] | null }) {
  const { route } = props;
  const name = route === 'connect' ? 'Connect' : 'OAuth 2.0 (3LO)';
  if (props.configured.length === 0) {
    return (
      <fieldset>
        <legend>{name} scopes</legend>
        <p class="muted">The {name} route is not configured on this gateway.</p>
      </fieldset>
    );
  }
  return (
    <fieldset>
      <legend>{name} scopes</legend>
      <div class="choice">
        <input type="radio" id={`${route}-default`} name={`${route}Mode`} value="default" checked={props.chosen === null} />
        <label for={`${route}-default`}>Use the configured scopes ({props.configured.join(' ')})</label>
      </div>
      <div class="choice">
        <input type="radio" id={`${route}-narrow`} name={`${route}Mode`} value="narrow" checked={props.chosen !== null} aria-describedby={`${route}-narrow-hint`} />
        <label for={`${route}-narrow`}>Only the scopes ticked below</label>
      </div>
      <p class="hint muted" id={`${route}-narrow-hint`}>
        A policy can narrow the configured scopes, never add to them.
      </p>
      {props.configured.map((s) => (
        <div class="choice">
          <input type="checkbox" id={`${route}-scope-${s}`} name={`${route}Scopes`} value={s} checked={props.chosen?.includes(s) ?? false} />
          <label for={`${route}-scope-${s}`} class="mono">
            {s}
          </label>
        </div>
      ))}
    </fieldset>
  );
}

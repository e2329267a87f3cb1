import type { Gateway } from '../../src/gateway.js';
import { DEFAULT_ACCOUNTS, type Sandbox } from '../../src/sandbox/index.js';
import type { LinkStatus } from '../../src/store/schema.js';

/**
 * Realistic data for every page of the admin console, for tests and for screenshots.
 *
 * Usage (in process, with `createConnectWorld({ ONBEHALF_ADMIN_SECRET: ... })` from ./connect-world.ts):
 *
 *   const world = await createConnectWorld({ ONBEHALF_ADMIN_SECRET: 'S'.repeat(40) });
 *   const seeded = await seedConsoleData({ gateway: world.gateway, sandbox: world.sandbox, descriptorUrl: `${GATEWAY_ORIGIN}/atlassian-connect.json`, settle: world.settle });
 *
 * or over real sockets (a gateway from `createGateway(config)` + `gateway.listen()`, and a sandbox from
 * `startSandboxServer()`): pass `gateway`, `sandbox: server.sandbox` and the listening gateway's
 * `${url}/atlassian-connect.json`. Then sign in at `/admin/sign-in` with the configured
 * ONBEHALF_ADMIN_SECRET: every page has rows (links of every status on the connect, oauth and admin
 * routes, link sessions of every status, known accounts with names and emails, audit entries, live and
 * revoked API keys, a narrowed policy on acme, and tokens minted over the last hour).
 *
 * Safe to call once per gateway database. Install goes through the sandbox (a real signed install);
 * everything else is written through the gateway's own services and repositories.
 */
export interface SeededConsole {
  sites: { acme: string; globex: string };
  /** Link ids by external user id. */
  links: Record<string, string>;
  apiKeys: { all: string; acmeOnly: string; revoked: string };
}

export async function seedConsoleData(input: { gateway: Gateway; sandbox: Sandbox; descriptorUrl: string; settle?: () => Promise<void> }): Promise<SeededConsole> {
  const { gateway: gw, sandbox } = input;
  const repos = gw.repos;
  const settle = input.settle ?? (() => gw.background.drain());
  for (const site of ['acme', 'globex']) {
    const r = await sandbox.control.installApp(site, input.descriptorUrl);
    if (!r.ok) throw new Error(`install on ${site} failed: ${r.code} ${r.message}`);
  }
  await settle();
  const discovery = sandbox.control.discovery();
  const cloudOf = (key: string) => {
    const s = discovery.sites.find((x) => x.key === key);
    if (!s) throw new Error(`no sandbox site ${key}`);
    return s;
  };
  const acme = cloudOf('acme');
  const globex = cloudOf('globex');
  const connectTenant = async (cloudId: string) => (await repos.tenants.findByCloudId(cloudId)).find((t) => t.route === 'connect');
  const acmeTenant = await connectTenant(acme.cloudId);
  const globexTenant = await connectTenant(globex.cloudId);

  // The 3LO app's record of acme, as a consent there would have left it.
  const oauthClientId = gw.oauth?.clientId ?? 'seed-3lo-client';
  const oauthTenant = await repos.tenants.upsert({ route: 'oauth', appKey: oauthClientId, tenantKey: acme.cloudId, cloudId: acme.cloudId, baseUrl: acme.baseUrl, oauthClientId });

  // Known accounts: what webhooks and page loads would have recorded.
  for (const u of discovery.users) {
    const on = u.sites ?? discovery.sites.map((s) => s.key);
    for (const key of on) {
      if (key !== 'acme' && key !== 'globex') continue;
      await repos.knownAccounts.record({
        cloudId: cloudOf(key).cloudId,
        accountId: u.accountId,
        source: u.accountType === 'app' ? 'webhook:page_created' : 'iframe:link',
        displayName: u.displayName,
        email: u.emailVisible ? u.email : null,
        accountType: u.accountType,
      });
    }
  }

  const links: Record<string, string> = {};
  const link = async (externalUserId: string, site: { cloudId: string }, accountId: string, route: 'connect' | 'oauth' | 'admin', status: LinkStatus, tenantId: string | null) => {
    const evidence =
      route === 'connect'
        ? { kind: 'connect_consent', sub: accountId, iframe: 'connect/link', at: gw.clock.now() }
        : route === 'oauth'
          ? { kind: 'oauth_me', accountId, at: gw.clock.now() }
          : { kind: 'admin_mapping', adminId: 'console:seed', adminKind: 'console', at: gw.clock.now() };
    const created = await repos.links.create({ externalUserId, cloudId: site.cloudId, accountId, route, scopes: route === 'oauth' ? ['read:me', 'write:page:confluence'] : [], status: status === 'revoked' ? 'linked' : status, evidence, tenantId });
    if (status === 'revoked') await gw.linking.links.revoke({ linkId: created.id, actorType: 'app', actorId: 'seed', reason: 'user_left' });
    links[externalUserId] = created.id;
  };
  await link('u-alice', acme, DEFAULT_ACCOUNTS.alice, 'connect', 'linked', acmeTenant?.id ?? null);
  await link('u-bob', acme, DEFAULT_ACCOUNTS.bob, 'connect', 'linked', acmeTenant?.id ?? null);
  await link('u-carol', acme, DEFAULT_ACCOUNTS.carol, 'oauth', 'linked', oauthTenant.id);
  await link('u-dave', acme, DEFAULT_ACCOUNTS.dave, 'oauth', 'reauth_required', oauthTenant.id);
  await link('u-grace', acme, DEFAULT_ACCOUNTS.grace, 'admin', 'linked', acmeTenant?.id ?? null);
  await link('u-erin', acme, DEFAULT_ACCOUNTS.erin, 'connect', 'revoked', acmeTenant?.id ?? null);
  await link('u-frank-old', globex, DEFAULT_ACCOUNTS.frank, 'connect', 'revoked', globexTenant?.id ?? null);
  await link('u-frank', globex, DEFAULT_ACCOUNTS.frank, 'connect', 'linked', globexTenant?.id ?? null);
  await repos.links.setStatus(links['u-dave'] ?? '', 'reauth_required', { reason: 'invalid_grant' });

  // Link sessions of every status.
  const session = async (externalUserId: string, route: 'connect' | 'oauth', cloudId: string | null, to: 'pending' | 'pending_confirmation' | 'linked' | 'denied' | 'expired', linkId: string | null = null) => {
    const s = await gw.linking.sessions.start({ externalUserId, route, ...(cloudId ? { cloudId } : {}), ttlMs: to === 'expired' ? 60_000 : 3_600_000 });
    if (to === 'pending') return;
    await repos.linkSessions.transition(s.id, ['pending'], { status: to, link_id: linkId, used_at: gw.clock.now(), completed_at: to === 'expired' ? null : gw.clock.now(), ...(to === 'expired' ? { expires_at: gw.clock.now() - 1 } : {}) });
  };
  await session('u-alice', 'connect', acme.cloudId, 'linked', links['u-alice'] ?? null);
  await session('u-bob', 'connect', acme.cloudId, 'linked', links['u-bob'] ?? null);
  await session('u-carol', 'oauth', null, 'linked', links['u-carol'] ?? null);
  await session('u-henry', 'connect', acme.cloudId, 'pending');
  await session('u-ivy', 'oauth', null, 'pending_confirmation');
  await session('u-jack', 'connect', globex.cloudId, 'denied');
  await session('u-kate', 'connect', acme.cloudId, 'expired');

  // API keys: one for every site, one limited to acme, one revoked.
  const all = await repos.apiKeys.create({ name: 'billing-backend' });
  const acmeOnly = await repos.apiKeys.create({ name: 'acme-support-bot', sites: [acme.cloudId] });
  const old = await repos.apiKeys.create({ name: 'legacy-importer' });
  await repos.apiKeys.revoke(old.apiKey.id);
  await repos.apiKeys.verify(all.secret);
  for (const k of [all, acmeOnly, old]) await repos.audit.append({ action: 'api_key.created', actorType: 'admin', actorId: 'console:seed', data: { apiKeyId: k.apiKey.id, name: k.apiKey.name } });
  await repos.audit.append({ action: 'api_key.revoked', actorType: 'admin', actorId: 'console:seed', data: { apiKeyId: old.apiKey.id, name: old.apiKey.name } });

  // acme allows admin-mapped links and narrows Connect to reading and writing as users.
  await repos.policies.set(acme.cloudId, { acting: 'admin_mapped', allowedScopes: { connect: ['READ', 'WRITE'] } }, 'console:seed');
  await repos.audit.append({ action: 'policy.changed', actorType: 'admin', actorId: 'console:seed', cloudId: acme.cloudId, reason: 'admin_mapped' });
  await repos.audit.append({ action: 'admin.sign_in_failed', actorType: 'admin', actorId: 'ip:192.0.2.7', reason: 'wrong_secret' });
  await repos.audit.append({ action: 'admin.signed_in', actorType: 'admin', actorId: 'console:seed', data: { ip: '127.0.0.1' } });

  // Tokens minted: real grants through the sandbox now, and a spread over the last hour for the chart.
  await gw.tokenFor({ site: 'acme', externalUserId: 'u-alice' });
  await gw.tokenFor({ site: 'acme', externalUserId: 'u-bob' });
  await gw.tokenFor({ site: 'globex', externalUserId: 'u-frank' });
  const now = gw.clock.now();
  for (let m = 1; m < 60; m++) {
    const connect = Math.round(3 + 3 * Math.sin(m / 6) + (m % 7 === 0 ? 5 : 0));
    for (let i = 0; i < connect; i++) await repos.tokenMints.record('connect', now - m * 60_000);
    for (let i = 0; i < (m % 4 === 0 ? 2 : m % 3 === 0 ? 1 : 0); i++) await repos.tokenMints.record('oauth', now - m * 60_000);
  }
  await settle();
  return { sites: { acme: acme.cloudId, globex: globex.cloudId }, links, apiKeys: { all: all.apiKey.id, acmeOnly: acmeOnly.apiKey.id, revoked: old.apiKey.id } };
}

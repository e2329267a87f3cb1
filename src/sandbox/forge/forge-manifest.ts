import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ForgeManifest, ForgePageModule, ForgePageModuleType, ForgeTokenAuth } from './forge-types.js';

/**
 * Reads a Forge `manifest.yml` (as text, the way `forge deploy` reads it) into the parts the sandbox emulates,
 * and applies the rules of protocol doc §10.1 that decide how remotes are invoked. Atlassian's own validators
 * (`@forge/manifest`) run beside this in validate-manifest.ts; these rules stand on their own so the sandbox
 * still refuses a manifest that would make it misbehave when that package is not installed.
 */

export const APP_ARI = /^ari:cloud:ecosystem::app\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
/** Scopes that switch the tokens on rather than grant product access (FMAN `REMOTE_AUTH_SCOPES`). */
export const TOKEN_SCOPES = ['read:app-system-token', 'read:app-user-token'];
const PAGE_TYPES: ForgePageModuleType[] = ['confluence:globalPage', 'confluence:spacePage', 'confluence:globalSettings'];

const tokenAuth = z
  .object({
    appSystemToken: z.object({ enabled: z.boolean() }).partial().optional(),
    appUserToken: z.object({ enabled: z.boolean() }).partial().optional(),
  })
  .partial()
  .optional();
const baseUrl = z.union([z.string(), z.object({ default: z.string() }).passthrough()]);
const scopeMap = z.record(z.string(), z.union([z.object({ allowImpersonation: z.boolean().optional() }).passthrough(), z.null()]));

const manifestShape = z.object({
  app: z
    .object({
      id: z.string(),
      name: z.string().optional(),
      connect: z.object({ key: z.string(), remote: z.string().optional(), authentication: z.string().optional() }).passthrough().optional(),
    })
    .passthrough(),
  modules: z
    .object({
      endpoint: z.array(z.object({ key: z.string(), remote: z.string().optional(), route: z.object({ path: z.string() }).passthrough().nullish(), auth: tokenAuth }).passthrough()).optional(),
      trigger: z.array(z.object({ key: z.string(), endpoint: z.string().optional(), function: z.string().optional(), events: z.array(z.string()) }).passthrough()).optional(),
      scheduledTrigger: z.array(z.object({ key: z.string(), endpoint: z.string().optional(), function: z.string().optional(), interval: z.enum(['fiveMinute', 'hour', 'day', 'week']) }).passthrough()).optional(),
    })
    .catchall(z.unknown())
    .optional(),
  connectModules: z.record(z.string(), z.unknown()).optional(),
  resources: z.array(z.object({ key: z.string(), path: z.string() }).passthrough()).optional(),
  remotes: z.array(z.object({ key: z.string(), baseUrl: baseUrl.optional(), configurable: z.unknown().optional(), auth: tokenAuth }).passthrough()).optional(),
  permissions: z.object({ scopes: z.union([z.array(z.string()), scopeMap]).optional() }).passthrough().optional(),
});

export type ManifestParse = { ok: true; manifest: ForgeManifest } | { ok: false; errors: string[] };

const authOf = (a: z.infer<typeof tokenAuth>): ForgeTokenAuth => ({
  appSystemToken: a?.appSystemToken?.enabled === true,
  appUserToken: a?.appUserToken?.enabled === true,
});

export function parseForgeManifest(text: string): ManifestParse {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    return { ok: false, errors: [`manifest.yml is not valid YAML: ${(e as Error).message}`] };
  }
  const shaped = manifestShape.safeParse(raw);
  if (!shaped.success) {
    return { ok: false, errors: shaped.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
  }
  const m = shaped.data;
  const errors: string[] = [];
  const idMatch = APP_ARI.exec(m.app.id);
  if (!idMatch) errors.push(`app.id must be an app ARI "ari:cloud:ecosystem::app/<uuid>", got "${m.app.id}"`);

  const remotes = (m.remotes ?? []).map((r) => ({
    key: r.key,
    baseUrl: r.baseUrl === undefined ? null : typeof r.baseUrl === 'string' ? r.baseUrl : r.baseUrl.default,
    configurable: r.configurable !== undefined,
    auth: authOf(r.auth),
  }));
  for (const r of remotes) {
    if (!/^[a-zA-Z0-9_-]+$/.test(r.key) || r.key.length > 23) errors.push(`remotes: key "${r.key}" must match ^[a-zA-Z0-9_-]+$ and have at most 23 characters`);
    if (r.baseUrl === null && !r.configurable) errors.push(`remotes: "${r.key}" needs a baseUrl`);
  }
  const remoteKeys = new Set(remotes.map((r) => r.key));

  const endpoints = (m.modules?.endpoint ?? []).map((e) => ({ key: e.key, remote: e.remote ?? '', routePath: e.route?.path ?? null, auth: authOf(e.auth) }));
  for (const e of endpoints) if (!remoteKeys.has(e.remote)) errors.push(`modules.endpoint "${e.key}": remote "${e.remote}" is not declared under remotes`);
  const endpointByKey = new Map(endpoints.map((e) => [e.key, e]));

  const triggers = (m.modules?.trigger ?? []).filter((t) => t.endpoint !== undefined).map((t) => ({ key: t.key, endpoint: t.endpoint!, events: t.events }));
  const scheduledTriggers = (m.modules?.scheduledTrigger ?? []).filter((t) => t.endpoint !== undefined).map((t) => ({ key: t.key, endpoint: t.endpoint!, interval: t.interval }));
  for (const t of [...triggers, ...scheduledTriggers]) {
    const e = endpointByKey.get(t.endpoint);
    if (!e) {
      errors.push(`trigger "${t.key}": endpoint "${t.endpoint}" is not declared under modules.endpoint`);
      continue;
    }
    // FMAN modules-validator: trigger endpoints need a route and may not ask for a user token (no user in session).
    if (e.routePath === null) errors.push(`modules.endpoint "${e.key}" is used by trigger "${t.key}" and needs route.path`);
    if (e.auth.appUserToken) errors.push(`modules.endpoint "${e.key}" is used by trigger "${t.key}": trigger endpoints only support appSystemToken`);
  }

  const pages: ForgePageModule[] = [];
  for (const type of PAGE_TYPES) {
    const list = m.modules?.[type];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      errors.push(`modules.${type} must be a list`);
      continue;
    }
    for (const raw of list as Record<string, unknown>[]) {
      const key = typeof raw['key'] === 'string' ? raw['key'] : '';
      const resolver = raw['resolver'] as { endpoint?: unknown } | undefined;
      const page: ForgePageModule = {
        type,
        key,
        title: typeof raw['title'] === 'string' ? raw['title'] : key,
        route: typeof raw['route'] === 'string' ? raw['route'] : key,
        resource: typeof raw['resource'] === 'string' ? raw['resource'] : null,
        resolverEndpoint: resolver && typeof resolver.endpoint === 'string' ? resolver.endpoint : null,
      };
      if (!key) errors.push(`modules.${type}: every module needs a key`);
      if (page.resolverEndpoint !== null && !endpointByKey.has(page.resolverEndpoint)) {
        errors.push(`modules.${type} "${key}": resolver endpoint "${page.resolverEndpoint}" is not declared under modules.endpoint`);
      }
      pages.push(page);
    }
  }

  const rawScopes = m.permissions?.scopes ?? [];
  const scopes = Array.isArray(rawScopes)
    ? rawScopes.map((name) => ({ name, allowImpersonation: false }))
    : Object.entries(rawScopes).map(([name, v]) => ({ name, allowImpersonation: v?.allowImpersonation === true }));
  const anyToken = endpoints.some((e) => e.auth.appSystemToken || e.auth.appUserToken) || remotes.some((r) => r.auth.appSystemToken || r.auth.appUserToken);
  if (anyToken && !scopes.some((s) => !TOKEN_SCOPES.includes(s.name))) {
    errors.push('Missing app scopes. If OAuth tokens are required, add valid scopes in addition to OAuth token config scopes (read:app-system-token, read:app-user-token).');
  }

  let connect: ForgeManifest['connect'] = null;
  const lifecycleList = m.connectModules?.['confluence:lifecycle'];
  if (m.connectModules !== undefined && Object.keys(m.connectModules).length > 0) {
    const remote = m.app.connect?.remote;
    if (!m.app.connect || !remote) errors.push('app.connect.remote is required when connectModules are declared');
    else if (!remoteKeys.has(remote)) errors.push(`app.connect.remote "${remote}" is not declared under remotes`);
    else if (remotes.find((r) => r.key === remote)?.configurable) errors.push(`app.connect.remote "${remote}" cannot be a configurable remote`);
  }
  if (m.app.connect?.remote) {
    const first = Array.isArray(lifecycleList) ? (lifecycleList[0] as Record<string, unknown> | undefined) : undefined;
    const lifecycle: NonNullable<ForgeManifest['connect']>['lifecycle'] = {};
    for (const k of ['installed', 'uninstalled', 'enabled', 'disabled'] as const) if (typeof first?.[k] === 'string') lifecycle[k] = first[k] as string;
    connect = { key: m.app.connect.key, remote: m.app.connect.remote, lifecycle };
  }

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    manifest: {
      appId: m.app.id,
      appUuid: idMatch![1]!,
      name: m.app.name ?? null,
      remotes: remotes.map(({ key, baseUrl: b, auth }) => ({ key, baseUrl: b, auth })),
      endpoints,
      triggers,
      scheduledTriggers,
      pages,
      resources: (m.resources ?? []).map((r) => ({ key: r.key, path: r.path })),
      scopes,
      connect,
    },
  };
}

/** Whether a manifest change makes a new major version (§10.1: remotes, endpoints or scopes changed). */
export function needsMajorVersion(before: ForgeManifest, after: ForgeManifest): boolean {
  const sig = (m: ForgeManifest) =>
    JSON.stringify({
      remotes: [...m.remotes].sort((a, b) => a.key.localeCompare(b.key)),
      endpoints: [...m.endpoints].sort((a, b) => a.key.localeCompare(b.key)),
      scopes: [...m.scopes].sort((a, b) => a.name.localeCompare(b.name)),
    });
  return sig(before) !== sig(after);
}

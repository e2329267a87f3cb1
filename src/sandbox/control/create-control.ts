import type { SandboxDeps, SandboxSettings } from '../sandbox-deps.js';
import type { SandboxSpace, SandboxSite, SandboxUser, OAuthClient, InstallMode, ConnectInstall, ServiceAccountCredential } from '../state/types.js';
import type { NewUserInput } from '../state/create-sandbox-state.js';
import { installApp, setAppEnabled, uninstallApp, type InstallAppResult, type LifecycleChangeResult } from '../connect/install-app.js';
import type { WebhookDispatcher } from '../connect/create-webhook-dispatcher.js';
import type { ThreeLo } from '../oauth/three-lo-routes.js';
import type { Counters } from './create-counters.js';
import type { Faults } from '../faults/create-faults.js';

export interface Discovery {
  url: string;
  endpoints: {
    impersonationToken: string;
    authorize: string;
    token: string;
    accessibleResources: string;
    me: string;
    installKeys: string;
    api: string;
    authServer: string;
    impersonationAudience: string;
    allJs: string;
    login: string;
    control: string;
    /** The JWKS Forge invocation tokens verify against. */
    forgeJwks: string;
    /** `offlineUserAuthToken` (POST, GraphQL). */
    graphql: string;
    /** Product API base for Forge tokens: `<forgeApi>/<cloudId>/wiki/...` (a FIT's `app.apiBaseUrl` + `/wiki`). */
    forgeApi: string;
  };
  sites: { key: string; name: string; baseUrl: string; cloudId: string; tenantInfo: string; gatewayBaseUrl: string }[];
  users: { accountId: string; displayName: string; email: string; emailVisible: boolean; active: boolean; accountType: string; accountStatus: string; groups: string[]; sites: string[] | null }[];
  oauthClients: { clientId: string; name: string; redirectUris: string[]; scopes: string[] }[];
  serviceAccounts: { clientId: string; accountId: string; scopes: string[] }[];
}

/** What a test needs to act as an installed app. Contains the shared secret: never log it. */
export interface InstallInfo {
  key: string;
  clientKey: string;
  sharedSecret: string;
  oauthClientId: string | null;
  baseUrl: string;
  cloudId: string;
  site: string;
  appBaseUrl: string;
  scopes: string[];
  enabled: boolean;
  installed: boolean;
  installMode: InstallMode;
  appUserAccountId: string;
  emailApproved: boolean;
}

export interface SandboxControl {
  discovery(): Discovery;
  addSite(input: { key: string; name?: string; cloudId?: string; emailApiEnabled?: boolean; groups?: string[] }): SandboxSite;
  addUser(input: NewUserInput): SandboxUser;
  updateUser(accountId: string, patch: Partial<Pick<SandboxUser, 'displayName' | 'publicName' | 'email' | 'emailVisible' | 'accountStatus' | 'groups' | 'apiToken' | 'apiTokenScopes' | 'timeZone'>>): SandboxUser;
  addSpace(siteKey: string, input: { key: string; name: string; permissions?: SandboxSpace['permissions'] }): SandboxSpace;
  addOAuthClient(input: OAuthClient): OAuthClient;
  addServiceAccount(input: ServiceAccountCredential): ServiceAccountCredential;
  setSite(siteKey: string, patch: { emailApiEnabled?: boolean }): SandboxSite;
  installApp(siteKey: string, descriptorUrl: string, options?: { mode?: InstallMode; installedBy?: string; emailApproved?: boolean }): Promise<InstallAppResult>;
  installInfo(siteKey: string, appKey: string): InstallInfo | null;
  enableApp(siteKey: string, appKey: string): Promise<LifecycleChangeResult>;
  disableApp(siteKey: string, appKey: string): Promise<LifecycleChangeResult>;
  uninstallApp(siteKey: string, appKey: string): Promise<LifecycleChangeResult>;
  issueAuthorizationCode(input: { clientId: string; accountId: string; redirectUri: string; scopes: string[] }): string;
  flushWebhooks(): Promise<void>;
  advanceClock(ms: number): number;
  now(): number;
  settings(): SandboxSettings;
  updateSettings(patch: Partial<SandboxSettings>): SandboxSettings;
  counters: Counters;
  faults: Faults;
  rotateInstallKey(): Promise<string>;
  /** Back to the seed: sites, users, spaces, pages, installs, clients, tokens, sessions, counters, faults, settings. Time is kept. */
  reset(): Promise<void>;
}

export function toInstallInfo(deps: SandboxDeps, i: ConnectInstall): InstallInfo {
  const site = deps.state.siteByKey(i.siteKey)!;
  return {
    key: i.appKey,
    clientKey: i.clientKey,
    sharedSecret: i.sharedSecret,
    oauthClientId: i.oauthClientId,
    baseUrl: deps.urls.siteBaseUrl(i.siteKey),
    cloudId: site.cloudId,
    site: i.siteKey,
    appBaseUrl: i.descriptor.baseUrl,
    scopes: i.scopes,
    enabled: i.enabled,
    installed: i.installed,
    installMode: i.installMode,
    appUserAccountId: i.appUserAccountId,
    emailApproved: i.emailApproved,
  };
}

export function createControl(
  deps: SandboxDeps,
  parts: { webhooks: WebhookDispatcher; threeLo: ThreeLo; advanceClock: (ms: number) => void; reset: () => void },
): SandboxControl {
  const { state, urls } = deps;
  const mustSite = (key: string): SandboxSite => {
    const s = state.siteByKey(key);
    if (!s) throw new Error(`site "${key}" does not exist`);
    return s;
  };
  return {
    discovery: () => ({
      url: deps.origin,
      endpoints: {
        impersonationToken: urls.impersonationToken,
        authorize: urls.authorize,
        token: urls.token,
        accessibleResources: urls.accessibleResources,
        me: urls.me,
        installKeys: urls.installKeys,
        api: urls.api,
        authServer: urls.authServer,
        impersonationAudience: urls.authServer,
        allJs: urls.allJs,
        login: urls.login,
        control: `${deps.origin}/_sandbox`,
        forgeJwks: urls.forgeJwks,
        graphql: urls.graphql,
        forgeApi: urls.api,
      },
      sites: [...state.sites.values()].map((s) => ({
        key: s.key,
        name: s.name,
        baseUrl: urls.siteBaseUrl(s.key),
        cloudId: s.cloudId,
        tenantInfo: `${deps.origin}/s/${s.key}/_edge/tenant_info`,
        gatewayBaseUrl: urls.gatewayBaseUrl(s.cloudId),
      })),
      users: [...state.users.values()].map((u) => ({
        accountId: u.accountId,
        displayName: u.displayName,
        email: u.email,
        emailVisible: u.emailVisible,
        active: u.accountStatus === 'active',
        accountType: u.accountType,
        accountStatus: u.accountStatus,
        groups: [...u.groups],
        sites: u.sites ? [...u.sites] : null,
      })),
      oauthClients: [...state.oauthClients.values()].map((c) => ({ clientId: c.clientId, name: c.name, redirectUris: [...c.redirectUris], scopes: [...c.scopes] })),
      serviceAccounts: [...state.serviceAccounts.values()].map((a) => ({ clientId: a.clientId, accountId: a.accountId, scopes: [...a.scopes] })),
    }),
    addSite: (input) => state.addSite(input),
    addUser(input) {
      for (const s of input.sites ?? []) mustSite(s);
      return state.addUser(input);
    },
    updateUser(accountId, patch) {
      const u = state.users.get(accountId);
      if (!u) throw new Error(`user "${accountId}" does not exist`);
      Object.assign(u, Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)));
      return u;
    },
    addSpace(siteKey, input) {
      mustSite(siteKey);
      const space = state.addSpace({ siteKey, key: input.key, name: input.name, permissions: input.permissions });
      const admin = state.usersOnSite(siteKey).find((u) => u.groups.includes('site-admins'));
      const home = state.createPage({ siteKey, spaceId: space.id, title: `${input.name} Home`, authorId: admin?.accountId ?? '', parentId: null });
      space.homepageId = home.id;
      space.authorId = admin?.accountId ?? '';
      return space;
    },
    addOAuthClient(input) {
      if (state.oauthClients.has(input.clientId)) throw new Error(`OAuth client "${input.clientId}" already exists`);
      state.oauthClients.set(input.clientId, { ...input });
      return input;
    },
    addServiceAccount(input) {
      if (state.serviceAccounts.has(input.clientId)) throw new Error(`service account "${input.clientId}" already exists`);
      const u = state.users.get(input.accountId);
      if (!u || u.accountType !== 'app') throw new Error(`service account user "${input.accountId}" must exist with accountType "app"`);
      state.serviceAccounts.set(input.clientId, { ...input });
      return input;
    },
    setSite(siteKey, patch) {
      const s = mustSite(siteKey);
      if (patch.emailApiEnabled !== undefined) s.emailApiEnabled = patch.emailApiEnabled;
      return s;
    },
    installApp: (siteKey, descriptorUrl, options = {}) => installApp(deps, { siteKey, descriptorUrl, mode: options.mode, installedBy: options.installedBy, emailApproved: options.emailApproved }),
    installInfo(siteKey, appKey) {
      const i = state.installs.get(state.installKey(siteKey, appKey));
      return i ? toInstallInfo(deps, i) : null;
    },
    enableApp: (siteKey, appKey) => setAppEnabled(deps, siteKey, appKey, true),
    disableApp: (siteKey, appKey) => setAppEnabled(deps, siteKey, appKey, false),
    uninstallApp: (siteKey, appKey) => uninstallApp(deps, siteKey, appKey),
    issueAuthorizationCode: (input) => {
      if (!state.oauthClients.has(input.clientId)) throw new Error(`OAuth client "${input.clientId}" does not exist`);
      if (!state.users.has(input.accountId)) throw new Error(`user "${input.accountId}" does not exist`);
      return parts.threeLo.issueCode(input);
    },
    flushWebhooks: () => parts.webhooks.flush(),
    advanceClock(ms) {
      parts.advanceClock(ms);
      return deps.clock.now();
    },
    now: () => deps.clock.now(),
    settings: () => ({ ...deps.settings }),
    updateSettings(patch) {
      Object.assign(deps.settings, Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)));
      return { ...deps.settings };
    },
    counters: deps.counters,
    faults: deps.faults,
    rotateInstallKey: () => deps.installKeys.rotate(),
    async reset() {
      await parts.webhooks.flush();
      parts.reset();
    },
  };
}

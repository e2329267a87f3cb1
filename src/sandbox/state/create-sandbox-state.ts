import { createHash } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { ParsedSeed } from '../seed/seed-schema.js';
import type {
  AuthorizationCode,
  ConnectInstall,
  ImpersonationToken,
  ServiceAccountCredential,
  OAuthClient,
  PrincipalSet,
  RefreshFamily,
  RefreshTokenRecord,
  SandboxComment,
  SandboxPage,
  SandboxSite,
  SandboxSpace,
  SandboxUser,
  ThreeLoAccessToken,
} from './types.js';
import type { ForgeInstallation, ForgeToken } from '../forge/forge-types.js';

export interface NewUserInput {
  accountId?: string | undefined;
  displayName: string;
  publicName?: string | undefined;
  nickname?: string | undefined;
  email: string;
  emailVisible?: boolean | undefined;
  accountType?: SandboxUser['accountType'] | undefined;
  accountStatus?: SandboxUser['accountStatus'] | undefined;
  groups?: string[] | undefined;
  sites?: string[] | undefined;
  apiToken?: string | undefined;
  apiTokenScopes?: string[] | null | undefined;
  timeZone?: string | null | undefined;
  locale?: string | undefined;
}

export interface NewPageInput {
  siteKey: string;
  spaceId: string;
  title: string;
  body?: { representation: SandboxPage['body']['representation']; value: string };
  authorId: string;
  createdVia?: string | null;
  parentId?: string | null;
  status?: SandboxPage['status'];
  id?: string;
  restrictions?: { read?: PrincipalSet | undefined; update?: PrincipalSet | undefined } | undefined;
  versionMessage?: string;
}

/** Everything the sandbox knows, in memory. One per sandbox instance; no module-level state. */
export interface SandboxState {
  sites: Map<string, SandboxSite>;
  users: Map<string, SandboxUser>;
  spaces: Map<string, SandboxSpace>;
  pages: Map<string, SandboxPage>;
  installs: Map<string, ConnectInstall>;
  oauthClients: Map<string, OAuthClient>;
  serviceAccounts: Map<string, ServiceAccountCredential>;
  impersonationTokens: Map<string, ImpersonationToken>;
  accessTokens: Map<string, ThreeLoAccessToken>;
  refreshFamilies: Map<string, RefreshFamily>;
  refreshTokens: Map<string, RefreshTokenRecord>;
  authorizationCodes: Map<string, AuthorizationCode>;
  comments: Map<string, SandboxComment>;
  sessions: Map<string, string>;
  /** Forge installations by `installationId` (an ARI); uninstalled ones stay, `installed: false`. */
  forgeInstallations: Map<string, ForgeInstallation>;
  /** App system, app user and offline user tokens, by token. */
  forgeTokens: Map<string, ForgeToken>;
  /** Recent offline-token exchanges per app (the 1,000/min budget), sandbox-clock ms. */
  forgeOfflineWindows: Map<string, number[]>;

  nextId(): string;
  siteByKey(key: string): SandboxSite | undefined;
  siteByCloudId(cloudId: string): SandboxSite | undefined;
  addSite(input: { key: string; name?: string | undefined; cloudId?: string | undefined; emailApiEnabled?: boolean | undefined; groups?: string[] | undefined }): SandboxSite;
  addUser(input: NewUserInput): SandboxUser;
  userOnSite(accountId: string, siteKey: string): SandboxUser | undefined;
  usersOnSite(siteKey: string): SandboxUser[];
  addSpace(input: { siteKey: string; key: string; name: string; id?: string | undefined; type?: SandboxSpace['type'] | undefined; authorId?: string | undefined; permissions?: SandboxSpace['permissions'] | undefined }): SandboxSpace;
  spaceByKey(siteKey: string, key: string): SandboxSpace | undefined;
  spacesOnSite(siteKey: string): SandboxSpace[];
  createPage(input: NewPageInput): SandboxPage;
  pagesOnSite(siteKey: string): SandboxPage[];
  installKey(siteKey: string, appKey: string): string;
  installByClientKey(clientKey: string): ConnectInstall | undefined;
  installByOauthClientId(oauthClientId: string): ConnectInstall | undefined;
}

/** Deterministic GUID for a site key, so the default seed's cloudIds never change between runs. */
export function cloudIdFor(siteKey: string): string {
  const h = createHash('sha256').update(`onbehalf-sandbox-cloud:${siteKey}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const emptySet = (): PrincipalSet => ({ users: [], groups: [] });

export function createSandboxState(seed: ParsedSeed, clock: Clock): SandboxState {
  let idCounter = 200000;
  const state: SandboxState = {
    sites: new Map(),
    users: new Map(),
    spaces: new Map(),
    pages: new Map(),
    installs: new Map(),
    oauthClients: new Map(),
    serviceAccounts: new Map(),
    impersonationTokens: new Map(),
    accessTokens: new Map(),
    refreshFamilies: new Map(),
    refreshTokens: new Map(),
    authorizationCodes: new Map(),
    comments: new Map(),
    sessions: new Map(),
    forgeInstallations: new Map(),
    forgeTokens: new Map(),
    forgeOfflineWindows: new Map(),

    nextId() {
      idCounter += 1;
      while (state.pages.has(String(idCounter)) || state.spaces.has(String(idCounter)) || state.comments.has(String(idCounter))) idCounter += 1;
      return String(idCounter);
    },
    siteByKey: (key) => state.sites.get(key),
    siteByCloudId: (cloudId) => [...state.sites.values()].find((s) => s.cloudId === cloudId),
    addSite(input) {
      if (state.sites.has(input.key)) throw new Error(`site "${input.key}" already exists`);
      const site: SandboxSite = {
        key: input.key,
        name: input.name ?? input.key,
        cloudId: input.cloudId ?? cloudIdFor(input.key),
        emailApiEnabled: input.emailApiEnabled ?? true,
        groups: [...new Set(['confluence-users', 'site-admins', 'atlassian-addons', ...(input.groups ?? [])])],
      };
      if (state.siteByCloudId(site.cloudId)) throw new Error(`cloudId ${site.cloudId} already in use`);
      state.sites.set(site.key, site);
      return site;
    },
    addUser(input) {
      const accountId = input.accountId ?? `712020:${crypto.randomUUID()}`;
      if (state.users.has(accountId)) throw new Error(`user "${accountId}" already exists`);
      const user: SandboxUser = {
        accountId,
        displayName: input.displayName,
        publicName: input.publicName ?? input.displayName,
        nickname: input.nickname ?? (input.publicName ?? input.displayName.split(' ')[0] ?? input.displayName).toLowerCase(),
        email: input.email,
        emailVisible: input.emailVisible ?? true,
        accountType: input.accountType ?? 'atlassian',
        accountStatus: input.accountStatus ?? 'active',
        groups: input.groups ?? ['confluence-users'],
        sites: input.sites ?? null,
        apiToken: input.apiToken ?? null,
        apiTokenScopes: input.apiTokenScopes ?? null,
        timeZone: input.timeZone === undefined ? 'UTC' : input.timeZone,
        locale: input.locale ?? 'en-US',
      };
      state.users.set(accountId, user);
      return user;
    },
    userOnSite(accountId, siteKey) {
      const u = state.users.get(accountId);
      if (!u) return undefined;
      return u.sites === null || u.sites.includes(siteKey) ? u : undefined;
    },
    usersOnSite: (siteKey) => [...state.users.values()].filter((u) => u.sites === null || u.sites.includes(siteKey)),
    addSpace(input) {
      if (!state.sites.has(input.siteKey)) throw new Error(`unknown site "${input.siteKey}"`);
      if (state.spaceByKey(input.siteKey, input.key)) throw new Error(`space "${input.key}" already exists on ${input.siteKey}`);
      const id = input.id ?? state.nextId();
      if (state.spaces.has(id)) throw new Error(`space id ${id} already in use`);
      const space: SandboxSpace = {
        id,
        siteKey: input.siteKey,
        key: input.key,
        name: input.name,
        type: input.type ?? 'global',
        homepageId: null,
        createdAt: clock.now(),
        authorId: input.authorId ?? '',
        permissions: input.permissions ?? {
          read: { users: [], groups: ['confluence-users', 'atlassian-addons'] },
          write: { users: [], groups: ['confluence-users', 'atlassian-addons'] },
        },
      };
      state.spaces.set(id, space);
      return space;
    },
    spaceByKey: (siteKey, key) => [...state.spaces.values()].find((s) => s.siteKey === siteKey && s.key === key),
    spacesOnSite: (siteKey) => [...state.spaces.values()].filter((s) => s.siteKey === siteKey),
    createPage(input) {
      const id = input.id ?? state.nextId();
      if (state.pages.has(id)) throw new Error(`page id ${id} already in use`);
      const now = clock.now();
      const siblings = [...state.pages.values()].filter((p) => p.spaceId === input.spaceId && p.parentId === (input.parentId ?? null));
      const page: SandboxPage = {
        id,
        siteKey: input.siteKey,
        spaceId: input.spaceId,
        title: input.title,
        status: input.status ?? 'current',
        parentId: input.parentId ?? null,
        position: siblings.length,
        authorId: input.authorId,
        ownerId: input.authorId,
        createdAt: now,
        createdVia: input.createdVia ?? null,
        body: input.body ?? { representation: 'storage', value: '' },
        version: { number: 1, createdAt: now, message: input.versionMessage ?? '', minorEdit: false, authorId: input.authorId },
        restrictions: { read: input.restrictions?.read ?? emptySet(), update: input.restrictions?.update ?? emptySet() },
      };
      state.pages.set(id, page);
      return page;
    },
    pagesOnSite: (siteKey) => [...state.pages.values()].filter((p) => p.siteKey === siteKey),
    installKey: (siteKey, appKey) => `${siteKey}/${appKey}`,
    installByClientKey: (clientKey) => [...state.installs.values()].find((i) => i.clientKey === clientKey),
    installByOauthClientId: (oauthClientId) => [...state.installs.values()].find((i) => i.oauthClientId === oauthClientId),
  };

  for (const s of seed.sites) state.addSite(s);
  for (const u of seed.users) state.addUser(u);
  for (const s of seed.spaces) state.addSpace({ siteKey: s.site, key: s.key, name: s.name, id: s.id, type: s.type, permissions: s.permissions });
  const pending = [...seed.pages];
  // Homepages first, then pages whose parent exists, so `parentTitle` can point at any seeded page.
  pending.sort((a, b) => Number(b.homepage) - Number(a.homepage));
  let guard = pending.length + 1;
  while (pending.length > 0 && guard-- > 0) {
    for (const p of [...pending]) {
      const space = state.spaceByKey(p.site, p.space)!;
      let parentId: string | null = null;
      if (p.parentTitle !== undefined) {
        const parent = state.pagesOnSite(p.site).find((x) => x.spaceId === space.id && x.title === p.parentTitle);
        if (!parent) continue;
        parentId = parent.id;
      } else if (!p.homepage) {
        parentId = space.homepageId;
      }
      const page = state.createPage({
        siteKey: p.site,
        spaceId: space.id,
        title: p.title,
        body: { representation: 'storage', value: p.body },
        authorId: p.authorAccountId,
        parentId,
        restrictions: p.restrictions,
        ...(p.id !== undefined ? { id: p.id } : {}),
      });
      if (p.homepage) space.homepageId = page.id;
      if (!space.authorId) space.authorId = p.authorAccountId;
      pending.splice(pending.indexOf(p), 1);
    }
  }
  if (pending.length > 0) throw new Error(`invalid sandbox seed: pages[].parentTitle not found for "${pending[0]!.title}"`);
  for (const c of seed.oauthClients) state.oauthClients.set(c.clientId, { ...c });
  for (const a of seed.serviceAccounts) state.serviceAccounts.set(a.clientId, { ...a });
  return state;
}

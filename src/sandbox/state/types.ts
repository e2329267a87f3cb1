/** The sandbox's in-memory world. Field names are domain (camelCase); wire shapes are built in the routes. */

export type AccountType = 'atlassian' | 'app' | 'customer';
export type AccountStatus = 'active' | 'inactive' | 'closed';

export interface PrincipalSet {
  users: string[];
  groups: string[];
}

export interface SandboxUser {
  accountId: string;
  displayName: string;
  publicName: string;
  nickname: string;
  email: string;
  emailVisible: boolean;
  accountType: AccountType;
  accountStatus: AccountStatus;
  groups: string[];
  /** Site keys this account can use; null = every site. */
  sites: string[] | null;
  apiToken: string | null;
  /** null = classic (unscoped) token for the site URL; a list = scoped token, only on the gateway path (§8.5). */
  apiTokenScopes: string[] | null;
  timeZone: string | null;
  locale: string;
}

export interface SandboxSite {
  key: string;
  name: string;
  cloudId: string;
  /** When false, `/user/email*` answer 501 "API is not currently enabled". */
  emailApiEnabled: boolean;
  groups: string[];
}

export interface SandboxSpace {
  id: string;
  siteKey: string;
  key: string;
  name: string;
  type: 'global' | 'personal';
  homepageId: string | null;
  createdAt: number;
  authorId: string;
  permissions: { read: PrincipalSet; write: PrincipalSet };
}

export interface PageVersion {
  number: number;
  createdAt: number;
  message: string;
  minorEdit: boolean;
  authorId: string;
}

export interface SandboxPage {
  id: string;
  siteKey: string;
  spaceId: string;
  title: string;
  status: 'current' | 'draft' | 'archived' | 'trashed';
  parentId: string | null;
  position: number;
  authorId: string;
  ownerId: string;
  createdAt: number;
  /** The app the page was created through (Connect app key or 3LO client ID); null for a person or a seed. */
  createdVia: string | null;
  body: { representation: 'storage' | 'atlas_doc_format' | 'wiki'; value: string };
  version: PageVersion;
  /** Empty sets = unrestricted. `read` restrictions are inherited by descendants. */
  restrictions: { read: PrincipalSet; update: PrincipalSet };
}

export interface SandboxComment {
  id: string;
  siteKey: string;
  pageId: string;
  authorId: string;
  createdAt: number;
  body: { representation: 'storage' | 'atlas_doc_format' | 'wiki'; value: string };
  version: PageVersion;
}

export type ConnectScope = 'NONE' | 'READ' | 'WRITE' | 'DELETE' | 'SPACE_ADMIN' | 'ADMIN' | 'ACT_AS_USER' | 'ACCESS_EMAIL_ADDRESSES';

export interface ConnectDescriptor {
  key: string;
  name?: string | undefined;
  baseUrl: string;
  authentication?: { type: string } | undefined;
  apiMigrations?: Record<string, boolean> | undefined;
  lifecycle?: { installed?: string | undefined; uninstalled?: string | undefined; enabled?: string | undefined; disabled?: string | undefined } | undefined;
  scopes?: string[] | undefined;
  modules?: {
    webhooks?: { event: string; url: string }[] | undefined;
    generalPages?: ConnectPageModule[] | undefined;
    configurePage?: ConnectPageModule | undefined;
    postInstallPage?: ConnectPageModule | undefined;
    adminPages?: ConnectPageModule[] | undefined;
  } | undefined;
}

export interface ConnectPageModule {
  key: string;
  name?: { value: string } | undefined;
  url: string;
  location?: string | undefined;
  conditions?: { condition: string }[] | undefined;
}

export type InstallMode = 'signed' | 'legacy';

export interface ConnectInstall {
  siteKey: string;
  appKey: string;
  clientKey: string;
  sharedSecret: string;
  oauthClientId: string | null;
  descriptorUrl: string;
  descriptor: ConnectDescriptor;
  scopes: ConnectScope[];
  enabled: boolean;
  installed: boolean;
  appUserAccountId: string;
  installMode: InstallMode;
  /** Approved by "Atlassian" for `/user/email*` (defaults to: declares ACCESS_EMAIL_ADDRESSES). */
  emailApproved: boolean;
  installedAt: number;
  installedBy: string;
  /** Connect-on-Forge (§10.8): the Forge installation this Connect install belongs to; sent in `installed`. */
  forgeInstallationId?: string | null | undefined;
}

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  name: string;
  redirectUris: string[];
  scopes: string[];
}

/** OAuth 2.0 client-credentials for a service account (§8.4): tokens act as `accountId` on the gateway path. */
export interface ServiceAccountCredential {
  clientId: string;
  clientSecret: string;
  accountId: string;
  scopes: string[];
}

export interface ImpersonationToken {
  token: string;
  siteKey: string;
  appKey: string;
  accountId: string;
  scopes: ConnectScope[];
  expiresAt: number;
}

export interface ThreeLoAccessToken {
  token: string;
  clientId: string;
  accountId: string;
  scopes: string[];
  expiresAt: number;
  familyId: string;
}

export interface RefreshFamily {
  id: string;
  clientId: string;
  accountId: string;
  scopes: string[];
  createdAt: number;
  revokedAt: number | null;
  revokeReason: string | null;
}

export interface RefreshTokenRecord {
  token: string;
  familyId: string;
  issuedAt: number;
  /** When this token was exchanged; after `usedAt + leeway` any further use kills the family. */
  usedAt: number | null;
}

export interface AuthorizationCode {
  code: string;
  clientId: string;
  accountId: string;
  redirectUri: string;
  scopes: string[];
  expiresAt: number;
  used: boolean;
}

/** The Forge part of the sandbox's world (protocol doc part 2, §10). Domain names; wire shapes live in the routes. */

export type ScheduledInterval = 'fiveMinute' | 'hour' | 'day' | 'week';

export interface ForgeTokenAuth {
  appSystemToken: boolean;
  appUserToken: boolean;
}

export interface ForgeRemote {
  key: string;
  /** The manifest's `baseUrl` (the `default` of a region map); the install's override map wins. */
  baseUrl: string | null;
  /** Tokens sent on function → remote calls (§10.1); kept for completeness, UI and triggers use the endpoint's. */
  auth: ForgeTokenAuth;
}

export interface ForgeEndpoint {
  key: string;
  remote: string;
  /** `route.path`: required for trigger endpoints, unused by UI resolvers (the UI supplies the path). */
  routePath: string | null;
  auth: ForgeTokenAuth;
}

export interface ForgeTrigger {
  key: string;
  endpoint: string;
  events: string[];
}

export interface ForgeScheduledTrigger {
  key: string;
  endpoint: string;
  interval: ScheduledInterval;
}

export type ForgePageModuleType = 'confluence:globalPage' | 'confluence:spacePage' | 'confluence:globalSettings';

export interface ForgePageModule {
  type: ForgePageModuleType;
  key: string;
  title: string;
  /** The URL segment after `/wiki/apps/<appId>/<envId>/` (globalSettings pages use the module key). */
  route: string;
  resource: string | null;
  resolverEndpoint: string | null;
}

export interface ForgeScope {
  name: string;
  allowImpersonation: boolean;
}

export interface ConnectOnForge {
  key: string;
  remote: string;
  /** `connectModules.confluence:lifecycle[0]` paths, relative to the Connect remote. */
  lifecycle: { installed?: string; uninstalled?: string; enabled?: string; disabled?: string };
}

/** What the sandbox reads out of a `manifest.yml`. */
export interface ForgeManifest {
  appId: string;
  appUuid: string;
  name: string | null;
  remotes: ForgeRemote[];
  endpoints: ForgeEndpoint[];
  triggers: ForgeTrigger[];
  scheduledTriggers: ForgeScheduledTrigger[];
  pages: ForgePageModule[];
  resources: { key: string; path: string }[];
  scopes: ForgeScope[];
  connect: ConnectOnForge | null;
}

/** One deployed version of an app: what an install or an upgrade carries. */
export interface ForgeAppVersion {
  /** `major.minor.patch`; a new major needs the admin's approval (§10.1 "Adding or changing remotes…"). */
  version: string;
  manifestText: string;
  manifest: ForgeManifest;
  /** remote key → base URL used for delivery (override map, else the manifest's). */
  remoteUrls: Record<string, string>;
  /** resource key → local folder whose files the Custom UI host serves. */
  resourceDirs: Record<string, string>;
}

export type ForgeEnvironmentType = 'DEVELOPMENT' | 'STAGING' | 'PRODUCTION';

export interface ForgeInstallation {
  installationId: string;
  siteKey: string;
  appId: string;
  environmentId: string;
  environmentType: ForgeEnvironmentType;
  current: ForgeAppVersion;
  /** A deployed major version waiting for the site admin's approval; the current one keeps running. */
  pendingUpgrade: ForgeAppVersion | null;
  installed: boolean;
  installedAt: number;
  installedBy: string;
  /** The app's bot account on the site: system tokens act as it. */
  appUserAccountId: string;
  /** `shared` (Marketplace or distribution link): every site user has app access; `private`: contributors only. */
  distribution: 'shared' | 'private';
  contributors: string[];
  /** Users an admin removed from the app (no app access: offline impersonation is refused). */
  blockedUsers: string[];
  /** Next due time per scheduled-trigger key, on the sandbox clock. */
  nextScheduledRun: Record<string, number>;
  /** The system token Forge currently hands out; rotated so a delivered one keeps 2-4 h (§10.5). */
  systemToken: { token: string; expiresAt: number } | null;
  /** Set when a Connect install on this site was upgraded to this Forge version (§10.8). */
  connectAppKey: string | null;
}

export type ForgeTokenKind = 'system' | 'user' | 'offline';

export interface ForgeToken {
  token: string;
  kind: ForgeTokenKind;
  installationId: string;
  /** The user the token acts as (the app user for system tokens). */
  accountId: string;
  scopes: string[];
  expiresAt: number;
}

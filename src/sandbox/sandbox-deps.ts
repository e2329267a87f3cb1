import type { Clock } from '../clock.js';
import type { Counters } from './control/create-counters.js';
import type { Faults } from './faults/create-faults.js';
import type { InstallKeys } from './connect/create-install-keys.js';
import type { FitKeys } from './forge/fit-keys.js';
import type { SandboxState } from './state/create-sandbox-state.js';
import type { SandboxComment, SandboxPage, SandboxUser } from './state/types.js';
import type { SandboxUrls } from './sandbox-urls.js';

export type { SandboxUrls } from './sandbox-urls.js';

export interface SandboxSettings {
  /** How long a used refresh token keeps working (Atlassian: 10 minutes). */
  refreshTokenReuseLeewayMs: number;
  refreshTokenInactivityMs: number;
  refreshTokenAbsoluteMs: number;
  accessTokenTtlSeconds: number;
  impersonationTokenTtlSeconds: number;
  authorizationCodeTtlMs: number;
  /** Clock leeway when verifying inbound Connect JWTs. */
  jwtLeewaySeconds: number;
  /** Default install mode for new installs: RS256 signed-install, or legacy HS256. */
  installMode: 'signed' | 'legacy';
  /** Query appended to webhook URLs (`lic=none` as captured). */
  webhookQuery: string;
  /**
   * `blocked`: module-page iframes load the app through the sandbox's `/_iframe/` proxy, which drops
   * `Cookie` and `Set-Cookie`, so an app that needs third-party cookies fails visibly (§9.5, §9.8.7).
   */
  iframeCookies: 'allowed' | 'blocked';
  /** Lifetime of offline user tokens (`authToken.ttl`). */
  forgeOfflineTokenTtlSeconds: number;
  /** Offline-token exchanges per app per minute (Atlassian: 1,000, §10.10). */
  forgeOfflineTokenLimitPerMinute: number;
  /** Which `contextIds` ARI form `offlineUserAuthToken` accepts (§10.10): both, or only one. */
  forgeContextIdForm: 'any' | 'workspace' | 'site';
  /** Event and trigger delivery: timeout, retries and their spacing (Atlassian: 5 s, 4, 60 s). */
  forgeEventTimeoutMs: number;
  forgeEventMaxRetries: number;
  forgeEventRetryDelayMs: number;
  /** UI invocations (`invokeRemote`) time out after this (Atlassian: 25 s). */
  forgeUiTimeoutMs: number;
}

export type PageEvent = 'page_created' | 'page_updated' | 'page_trashed' | 'page_removed' | 'comment_created';

export interface PageEventInfo {
  event: PageEvent;
  page: SandboxPage;
  actor: SandboxUser;
  updateTrigger: string;
  /** Set for `comment_created`; `page` is then the comment's page. */
  comment?: SandboxComment;
}

/** What every route factory gets. One per sandbox; nothing here is global. */
export interface SandboxDeps {
  origin: string;
  clock: Clock;
  state: SandboxState;
  settings: SandboxSettings;
  counters: Counters;
  faults: Faults;
  installKeys: InstallKeys;
  /** The keys Forge invocation tokens are signed with (JWKS at `/forge/.well-known/jwks.json`). */
  forgeKeys: FitKeys;
  outboundFetch: typeof fetch;
  pageEvents: { emit(info: PageEventInfo): void; on(listener: (info: PageEventInfo) => void): void };
  urls: SandboxUrls;
}

import type { AdminSessionsRepo } from './admin-sessions-repo.js';
import type { ApiKeysRepo } from './api-keys-repo.js';
import type { AuditRepo } from './audit-repo.js';
import type { EmailIndexRepo } from './email-index-repo.js';
import type { EventsRepo } from './events-repo.js';
import type { ForgeActivityRepo } from './forge-activity-repo.js';
import type { KnownAccountsRepo } from './known-accounts-repo.js';
import type { LinkSessionsRepo } from './link-sessions-repo.js';
import type { LinksRepo } from './links-repo.js';
import type { OauthAppsRepo } from './oauth-apps-repo.js';
import type { PoliciesRepo } from './policies-repo.js';
import type { TenantsRepo } from './tenants-repo.js';
import type { TokenMintsRepo } from './token-mints-repo.js';
import type { TokensRepo } from './tokens-repo.js';
import type { WebhookReplaysRepo } from './webhook-replays-repo.js';

/** Every repository of the store (the type alone, so hot-reads can name it without importing createRepositories). */
export interface Repositories {
  tenants: TenantsRepo;
  tokens: TokensRepo;
  oauthApps: OauthAppsRepo;
  apiKeys: ApiKeysRepo;
  audit: AuditRepo;
  knownAccounts: KnownAccountsRepo;
  events: EventsRepo;
  links: LinksRepo;
  linkSessions: LinkSessionsRepo;
  policies: PoliciesRepo;
  adminSessions: AdminSessionsRepo;
  tokenMints: TokenMintsRepo;
  webhookReplays: WebhookReplaysRepo;
  emailIndex: EmailIndexRepo;
  forgeActivity: ForgeActivityRepo;
}

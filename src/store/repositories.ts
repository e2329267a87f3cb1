import type { Clock } from '../clock.js';
import { createAdminSessionsRepo, type AdminSessionsRepo } from './admin-sessions-repo.js';
import { createApiKeysRepo, type ApiKeysRepo } from './api-keys-repo.js';
import { createAuditRepo, type AuditRepo } from './audit-repo.js';
import type { Store } from './create-store.js';
import { createEventsRepo, type EventsRepo } from './events-repo.js';
import { withClaimExpiry } from './claim-expiry.js';
import { trackChanges } from './hot-reads.js';
import { createLinkSessionsRepo, type LinkSessionsRepo } from './link-sessions-repo.js';
import { createLinksRepo, type LinksRepo } from './links-repo.js';
import { createKnownAccountsRepo, type KnownAccountsRepo } from './known-accounts-repo.js';
import { createOauthAppsRepo, type OauthAppsRepo } from './oauth-apps-repo.js';
import { createPoliciesRepo, type PoliciesRepo } from './policies-repo.js';
import type { SecretBox } from './secret-box.js';
import { createTenantsRepo, type TenantsRepo } from './tenants-repo.js';
import { createTokenMintsRepo, type TokenMintsRepo } from './token-mints-repo.js';
import { createTokensRepo, type TokensRepo } from './tokens-repo.js';
import { createWebhookReplaysRepo, type WebhookReplaysRepo } from './webhook-replays-repo.js';

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
}

export function createRepositories(deps: { store: Store; box: SecretBox; clock: Clock }): Repositories {
  // Claim expiry goes outside so its own writes (lapsed claims ending) count as changes for the hot reads.
  return withClaimExpiry(trackChanges({
    tenants: createTenantsRepo(deps),
    tokens: createTokensRepo(deps),
    oauthApps: createOauthAppsRepo(deps),
    apiKeys: createApiKeysRepo(deps),
    audit: createAuditRepo(deps),
    knownAccounts: createKnownAccountsRepo(deps),
    events: createEventsRepo(deps),
    links: createLinksRepo(deps),
    linkSessions: createLinkSessionsRepo(deps),
    policies: createPoliciesRepo(deps),
    adminSessions: createAdminSessionsRepo(deps),
    tokenMints: createTokenMintsRepo(deps),
    webhookReplays: createWebhookReplaysRepo(deps),
  }), deps.clock);
}

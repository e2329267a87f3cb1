import type { Clock } from '../clock.js';
import { createAdminSessionsRepo } from './admin-sessions-repo.js';
import { createApiKeysRepo } from './api-keys-repo.js';
import { createAuditRepo } from './audit-repo.js';
import type { Store } from './create-store.js';
import { createEmailIndexRepo } from './email-index-repo.js';
import { createEventsRepo } from './events-repo.js';
import { createForgeActivityRepo } from './forge-activity-repo.js';
import { withClaimExpiry } from './claim-expiry.js';
import { trackChanges } from './track-changes.js';
import type { Repositories } from './repositories-type.js';
import { createLinkSessionsRepo } from './link-sessions-repo.js';
import { createLinksRepo } from './links-repo.js';
import { createKnownAccountsRepo } from './known-accounts-repo.js';
import { createOauthAppsRepo } from './oauth-apps-repo.js';
import { createPoliciesRepo } from './policies-repo.js';
import type { SecretBox } from './secret-box.js';
import { createTenantsRepo } from './tenants-repo.js';
import { createTokenMintsRepo } from './token-mints-repo.js';
import { createTokensRepo } from './tokens-repo.js';
import { createWebhookReplaysRepo } from './webhook-replays-repo.js';

export type { Repositories } from './repositories-type.js';


export function createRepositories(deps: { store: Store; box: SecretBox; clock: Clock }): Repositories {
  // Claim expiry goes outside the safety net of trackChanges; its writes go through links.setStatus, which publishes.
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
    emailIndex: createEmailIndexRepo(deps),
    forgeActivity: createForgeActivityRepo(deps),
  }, deps.store), deps.clock);
}

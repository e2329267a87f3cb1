import type { Generated } from 'kysely';

/**
 * Row types of every table, shared by both dialects. Times are integer milliseconds since the epoch
 * (BIGINT on PostgreSQL, parsed back to number by the pg pool), booleans are 0/1 and structured values are
 * JSON text, so one code path reads and writes both backends. Columns named in `ENCRYPTED_COLUMNS` hold
 * secret-box ciphertext, never plaintext.
 */

export type TenantRoute = 'connect' | 'oauth' | 'forge';
export type TenantStatus = 'active' | 'disabled' | 'uninstalled';
export type LinkRoute = 'connect' | 'oauth' | 'admin' | 'forge';
export type LinkStatus = 'pending_confirmation' | 'linked' | 'reauth_required' | 'revoked';
export type LinkSessionStatus = 'pending' | 'pending_confirmation' | 'linked' | 'denied' | 'expired';
export type TokenKind = 'access' | 'refresh';

export interface TenantsTable {
  id: string;
  route: TenantRoute;
  /** Connect app key, 3LO client id or Forge app id: the app half of the tenant identity. */
  app_key: string;
  /** Connect clientKey, 3LO cloudId or Forge installation id: the site half of the tenant identity. */
  tenant_key: string;
  cloud_id: string | null;
  base_url: string;
  display_url: string | null;
  oauth_client_id: string | null;
  shared_secret: string | null;
  status: TenantStatus;
  product_type: string | null;
  /** Non-secret fields of the install payload, JSON. */
  payload: string | null;
  installed_at: number;
  updated_at: number;
  uninstalled_at: number | null;
  purge_after: number | null;
}

export interface OauthAppsTable {
  id: string;
  client_id: string;
  client_secret: string;
  redirect_uri: string;
  scopes: string;
  source: 'config' | 'sandbox';
  created_at: number;
  updated_at: number;
}

export interface LinksTable {
  id: string;
  external_user_id: string;
  cloud_id: string;
  account_id: string;
  tenant_id: string | null;
  route: LinkRoute;
  scopes: string;
  status: LinkStatus;
  status_reason: string | null;
  evidence: string;
  created_at: number;
  verified_at: number | null;
  updated_at: number;
  revoked_at: number | null;
  /** The link session that created it (one completion code confirms all its links). */
  session_id: string | null;
}

export interface LinkSessionsTable {
  id: string;
  token_hash: string;
  external_user_id: string;
  cloud_id: string | null;
  route: 'connect' | 'oauth';
  return_url: string | null;
  status: LinkSessionStatus;
  require_confirmation: number;
  completion_code_hash: string | null;
  oauth_state_hash: string | null;
  link_id: string | null;
  email_hint: string | null;
  api_key_id: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  completed_at: number | null;
  /** 3LO: the account a finished sign-in verified, until the user picks sites. */
  pending_account_id: string | null;
  /** 3LO: JSON of what the sign-in reported (sites, email), until the user picks sites. */
  pending_data: string | null;
}

export interface KnownAccountsTable {
  cloud_id: string;
  account_id: string;
  display_name: string | null;
  public_name: string | null;
  email: string | null;
  account_type: string | null;
  source: string;
  seen_count: number;
  first_seen_at: number;
  last_seen_at: number;
}

export interface TokensTable {
  id: string;
  route: TenantRoute;
  app_key: string;
  /** clientKey for Connect; empty for 3LO, whose refresh token spans every site of one consent. */
  tenant_key: string;
  account_id: string;
  kind: TokenKind;
  /** Normalised scope set: upper-cased for Connect, sorted, space-joined. */
  scope_key: string;
  token: string;
  /** The refresh token this one replaced, kept through the reuse leeway so a crash cannot lose the chain. */
  previous_token: string | null;
  expires_at: number | null;
  version: number;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: number;
  action: string;
  actor_type: 'system' | 'app' | 'admin' | 'user' | 'api_key';
  actor_id: string | null;
  cloud_id: string | null;
  account_id: string | null;
  external_user_id: string | null;
  route: string | null;
  reason: string | null;
  data: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  at: number;
  type: string;
  cloud_id: string | null;
  account_id: string | null;
  external_user_id: string | null;
  data: string;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  /** The first characters of the key, shown in listings so people can tell keys apart. */
  prefix: string;
  key_hash: string;
  /** JSON array of cloud ids or site keys this key is limited to; null = every site. */
  sites: string | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface PoliciesTable {
  cloud_id: string;
  acting: 'linked_only' | 'admin_mapped' | 'any_user';
  /** JSON object: route -> allowed scopes. */
  allowed_scopes: string;
  updated_at: number;
  updated_by: string | null;
}

export interface AdminSessionsTable {
  /** Public id of the session (names the admin in the audit log); the cookie holds a separate secret. */
  id: string;
  /** SHA-256 of the cookie's secret: a database copy cannot be replayed as a cookie. */
  token_hash: string;
  client_ip: string | null;
  created_at: number;
  last_seen_at: number;
  /** Absolute end, whatever the activity. */
  expires_at: number;
}

export interface RefreshLeasesTable {
  /** SHA-256 (hex) of the lock key: route, app, tenant and account, never a token. */
  lock_key: string;
  /** Random id of the holder (one per acquisition, so two holders in one process are told apart). */
  owner: string;
  /** After this (ms since the epoch) the lease is free for anyone: its holder died or overran. */
  expires_at: number;
}

export interface WebhookReplaysTable {
  /** SHA-256 (hex) of the webhook JWT's jti (with the site), or of the token and body when it has none. */
  replay_key: string;
  /** The JWT's expiry plus the verification leeway: after that the token itself is refused. */
  expires_at: number;
}

export interface TokenMintsTable {
  /** Start of the minute, ms since the epoch. */
  minute: number;
  route: string;
  count: number;
}

export interface EmailIndexTable {
  cloud_id: string;
  account_id: string;
  /** HMAC of the site and the lower-cased email (store/email-hasher.ts), never the email; null = the email API gave none. */
  email_hash: string | null;
  /** The master key id the hash was made under (look-ups try each key still in use). */
  key_id: string | null;
  /** When the email API was last asked about this account; null = waiting to be asked (a product event named it). */
  checked_at: number | null;
  /** The last time the site's user search or a product event named the account. */
  seen_at: number;
}

export interface EmailIndexSitesTable {
  cloud_id: string;
  /** Where the user search continues (its `start`). */
  next_start: number;
  /** When the current pass over the site's users began; null between passes. */
  pass_started_at: number | null;
  /** When the last full pass ended. */
  last_pass_at: number | null;
  last_run_at: number | null;
  /** The error code of the last run, when it failed. */
  last_error: string | null;
  updated_at: number;
}

/** One spendable offline-token exchange per app and slot, at most once a minute (forge-budget.ts). */
export interface ForgeBudgetSlotsTable {
  app_key: string;
  slot: number;
  /** When the slot was last spent, ms since the epoch; 0 for never. */
  used_at: number;
}

/** When a Forge installation last invoked the gateway; written at most once a minute per installation and kind. */
export interface ForgeActivityTable {
  tenant_id: string;
  last_invocation_at: number;
  /** `type:key` of the module that invoked, e.g. `core:endpoint:token-keepalive`. */
  last_module: string;
  /** The last invocation without a user context: lifecycle, scheduled and product-event triggers. */
  last_trigger_at: number | null;
}

export interface Database {
  tenants: TenantsTable;
  oauth_apps: OauthAppsTable;
  links: LinksTable;
  link_sessions: LinkSessionsTable;
  known_accounts: KnownAccountsTable;
  tokens: TokensTable;
  audit_events: AuditEventsTable;
  events: EventsTable;
  api_keys: ApiKeysTable;
  policies: PoliciesTable;
  admin_sessions: AdminSessionsTable;
  token_mints: TokenMintsTable;
  refresh_leases: RefreshLeasesTable;
  webhook_replays: WebhookReplaysTable;
  email_index: EmailIndexTable;
  email_index_sites: EmailIndexSitesTable;
  forge_budget_slots: ForgeBudgetSlotsTable;
  forge_activity: ForgeActivityTable;
}

/**
 * Every column that holds secret-box ciphertext, with the column that identifies its row. Key rotation and
 * the plaintext-scan test walk this list, so a new secret column is covered once it is named here.
 */
export const ENCRYPTED_COLUMNS = [
  { table: 'tenants', id: 'id', column: 'shared_secret' },
  { table: 'oauth_apps', id: 'id', column: 'client_secret' },
  { table: 'tokens', id: 'id', column: 'token' },
  { table: 'tokens', id: 'id', column: 'previous_token' },
] as const satisfies readonly { table: keyof Database; id: string; column: string }[];

export type EncryptedColumn = (typeof ENCRYPTED_COLUMNS)[number];

/** The additional authenticated data binding a ciphertext to its row, so ciphertexts cannot be swapped. */
export function secretContext(c: Pick<EncryptedColumn, 'table' | 'column'>, rowId: string): string {
  return `${c.table}.${c.column}:${rowId}`;
}

import type { SandboxSeed } from './seed-schema.js';

const id = (n: number): string => `712020:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Well-known account IDs of the default seed, for tests and demos. */
export const DEFAULT_ACCOUNTS = {
  alice: id(1),
  bob: id(2),
  carol: id(3),
  dave: id(4),
  erin: id(5),
  frank: id(6),
  grace: id(7),
  bot: id(8),
} as const;

export const DEFAULT_SERVICE_ACCOUNT = {
  clientId: 'sandbox-service-account',
  clientSecret: 'sandbox-service-account-secret',
} as const;

export const DEFAULT_OAUTH_CLIENT = {
  clientId: 'sandbox-3lo-client',
  clientSecret: 'sandbox-3lo-client-secret',
} as const;

/**
 * The deterministic default world: two sites, eight users with mixed email visibility (one inactive,
 * one app user, one customer), spaces with different permissions and one restricted page.
 */
export const defaultSeed: SandboxSeed = {
  sites: [
    { key: 'acme', name: 'Acme Corp', cloudId: 'a1c0e000-0000-4000-8000-000000000001', groups: ['hr'] },
    { key: 'globex', name: 'Globex', cloudId: '9e0b0000-0000-4000-8000-000000000002' },
  ],
  users: [
    { accountId: DEFAULT_ACCOUNTS.alice, displayName: 'Alice Admin', email: 'alice@acme.example', emailVisible: true, groups: ['confluence-users', 'site-admins', 'hr'], apiToken: 'alice-api-token', timeZone: 'Europe/Berlin' },
    { accountId: DEFAULT_ACCOUNTS.bob, displayName: 'Bob Builder', publicName: 'bob', email: 'bob@acme.example', emailVisible: false, apiToken: 'bob-api-token-0' },
    { accountId: DEFAULT_ACCOUNTS.carol, displayName: 'Carol Jones', email: 'carol@acme.example', emailVisible: true, groups: ['confluence-users', 'hr'] },
    { accountId: DEFAULT_ACCOUNTS.dave, displayName: 'Dave Private', publicName: 'dave', email: 'dave@acme.example', emailVisible: false, sites: ['acme'] },
    { accountId: DEFAULT_ACCOUNTS.erin, displayName: 'Erin Former', email: 'erin@acme.example', emailVisible: true, accountStatus: 'inactive' },
    { accountId: DEFAULT_ACCOUNTS.frank, displayName: 'Frank Globex', email: 'frank@globex.example', emailVisible: true, sites: ['globex'], groups: ['confluence-users', 'site-admins'] },
    { accountId: DEFAULT_ACCOUNTS.grace, displayName: 'Grace Customer', email: 'grace@customer.example', emailVisible: false, accountType: 'customer', groups: [] },
    { accountId: DEFAULT_ACCOUNTS.bot, displayName: 'Automation Bot', email: 'bot@connect.atlassian.com', emailVisible: false, accountType: 'app', groups: ['atlassian-addons'] },
  ],
  spaces: [
    { site: 'acme', key: 'ENG', name: 'Engineering', id: '65537' },
    {
      site: 'acme',
      key: 'HR',
      name: 'People',
      id: '65538',
      permissions: { read: { users: [], groups: ['hr'] }, write: { users: [], groups: ['hr'] } },
    },
    { site: 'globex', key: 'OPS', name: 'Operations', id: '65539' },
  ],
  pages: [
    { site: 'acme', space: 'ENG', id: '98305', title: 'Engineering Home', homepage: true, body: '<p>Welcome to Engineering.</p>', authorAccountId: DEFAULT_ACCOUNTS.alice },
    { site: 'acme', space: 'ENG', id: '98306', title: 'Runbook', body: '<p>Restart it.</p>', authorAccountId: DEFAULT_ACCOUNTS.bob },
    { site: 'acme', space: 'ENG', id: '98307', title: 'Architecture', body: '<p>Boxes and arrows.</p>', authorAccountId: DEFAULT_ACCOUNTS.carol },
    {
      site: 'acme',
      space: 'ENG',
      id: '98308',
      title: 'Salaries 2026',
      body: '<p>Confidential.</p>',
      authorAccountId: DEFAULT_ACCOUNTS.alice,
      restrictions: { read: { users: [DEFAULT_ACCOUNTS.alice], groups: ['hr'] }, update: { users: [DEFAULT_ACCOUNTS.alice], groups: [] } },
    },
    { site: 'acme', space: 'ENG', id: '98309', title: 'Salary bands (child of restricted)', parentTitle: 'Salaries 2026', body: '<p>Bands.</p>', authorAccountId: DEFAULT_ACCOUNTS.alice },
    { site: 'acme', space: 'HR', id: '98310', title: 'People Home', homepage: true, body: '<p>HR.</p>', authorAccountId: DEFAULT_ACCOUNTS.carol },
    { site: 'globex', space: 'OPS', id: '98311', title: 'Operations Home', homepage: true, body: '<p>Ops.</p>', authorAccountId: DEFAULT_ACCOUNTS.frank },
  ],
  oauthClients: [
    {
      clientId: DEFAULT_OAUTH_CLIENT.clientId,
      clientSecret: DEFAULT_OAUTH_CLIENT.clientSecret,
      name: 'Sandbox 3LO app',
      redirectUris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
      scopes: [
        'read:confluence-content.all',
        'read:confluence-content.summary',
        'write:confluence-content',
        'read:confluence-space.summary',
        'read:confluence-user',
        'read:confluence-groups',
        'read:page:confluence',
        'write:page:confluence',
        'read:space:confluence',
        'read:me',
        'offline_access',
      ],
    },
  ],
  serviceAccounts: [
    {
      clientId: DEFAULT_SERVICE_ACCOUNT.clientId,
      clientSecret: DEFAULT_SERVICE_ACCOUNT.clientSecret,
      accountId: DEFAULT_ACCOUNTS.bot,
      scopes: ['read:page:confluence', 'write:page:confluence', 'read:confluence-content.all', 'read:confluence-user'],
    },
  ],
};

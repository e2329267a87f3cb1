import { z } from 'zod';

/** The seed format (documented in docs/sandbox.md). Validated with zod; errors name the bad field. */

const principalSetSchema = z
  .object({ users: z.array(z.string()).default([]), groups: z.array(z.string()).default([]) })
  .strict();

export const seedSiteSchema = z
  .object({
    key: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'site key: lower-case letters, digits and dashes'),
    name: z.string().min(1).optional(),
    cloudId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'cloudId must be a lower-case GUID').optional(),
    emailApiEnabled: z.boolean().default(true),
    groups: z.array(z.string()).default([]),
  })
  .strict();

export const seedUserSchema = z
  .object({
    accountId: z.string().min(1).max(128),
    displayName: z.string().min(1),
    publicName: z.string().min(1).optional(),
    nickname: z.string().optional(),
    email: z.string().email(),
    emailVisible: z.boolean().default(true),
    accountType: z.enum(['atlassian', 'app', 'customer']).default('atlassian'),
    accountStatus: z.enum(['active', 'inactive', 'closed']).default('active'),
    groups: z.array(z.string()).default(['confluence-users']),
    sites: z.array(z.string()).optional(),
    apiToken: z.string().min(8).optional(),
    /** Makes `apiToken` a scoped token: accepted only on the gateway path, with these scopes. */
    apiTokenScopes: z.array(z.string()).nullable().optional(),
    timeZone: z.string().nullable().default('UTC'),
    locale: z.string().default('en-US'),
  })
  .strict();

export const seedSpaceSchema = z
  .object({
    site: z.string(),
    key: z.string().regex(/^[A-Z0-9~][A-Za-z0-9]*$/, 'space key: upper-case letters and digits'),
    name: z.string().min(1),
    id: z.string().regex(/^\d+$/).optional(),
    type: z.enum(['global', 'personal']).default('global'),
    permissions: z
      .object({ read: principalSetSchema, write: principalSetSchema })
      .strict()
      .default({ read: { users: [], groups: ['confluence-users', 'atlassian-addons'] }, write: { users: [], groups: ['confluence-users', 'atlassian-addons'] } }),
  })
  .strict();

export const seedPageSchema = z
  .object({
    site: z.string(),
    space: z.string(),
    id: z.string().regex(/^\d+$/).optional(),
    title: z.string().min(1),
    body: z.string().default(''),
    authorAccountId: z.string(),
    /** Title of the parent page in the same space; omitted = under the space homepage. */
    parentTitle: z.string().optional(),
    homepage: z.boolean().default(false),
    restrictions: z
      .object({ read: principalSetSchema.optional(), update: principalSetSchema.optional() })
      .strict()
      .optional(),
  })
  .strict();

export const seedOAuthClientSchema = z
  .object({
    clientId: z.string().min(1),
    clientSecret: z.string().min(8),
    name: z.string().min(1),
    redirectUris: z.array(z.string().url()).min(1),
    scopes: z.array(z.string()).min(1),
  })
  .strict();

export const seedServiceAccountSchema = z
  .object({
    clientId: z.string().min(1),
    clientSecret: z.string().min(8),
    /** A user with `accountType: "app"`. */
    accountId: z.string(),
    scopes: z.array(z.string()).min(1),
  })
  .strict();

export const sandboxSeedSchema = z
  .object({
    sites: z.array(seedSiteSchema).min(1),
    users: z.array(seedUserSchema).default([]),
    spaces: z.array(seedSpaceSchema).default([]),
    pages: z.array(seedPageSchema).default([]),
    oauthClients: z.array(seedOAuthClientSchema).default([]),
    serviceAccounts: z.array(seedServiceAccountSchema).default([]),
  })
  .strict();

export type SandboxSeed = z.input<typeof sandboxSeedSchema>;
export type ParsedSeed = z.output<typeof sandboxSeedSchema>;
export type SeedUser = z.input<typeof seedUserSchema>;
export type SeedSite = z.input<typeof seedSiteSchema>;
export type SeedSpace = z.input<typeof seedSpaceSchema>;
export type SeedOAuthClient = z.input<typeof seedOAuthClientSchema>;

/** Formats zod issues as `users[2].email: Invalid email address; ...`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path
        .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
        .join('');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}

export function parseSeed(input: unknown, source = 'seed'): ParsedSeed {
  const result = sandboxSeedSchema.safeParse(input);
  if (!result.success) throw new Error(`invalid sandbox ${source}: ${formatIssues(result.error)}`);
  const seed = result.data;
  const siteKeys = new Set(seed.sites.map((s) => s.key));
  const accountIds = new Set(seed.users.map((u) => u.accountId));
  const problems: string[] = [];
  if (siteKeys.size !== seed.sites.length) problems.push('sites: duplicate site key');
  if (accountIds.size !== seed.users.length) problems.push('users: duplicate accountId');
  seed.users.forEach((u, i) => u.sites?.forEach((s) => !siteKeys.has(s) && problems.push(`users[${i}].sites: unknown site "${s}"`)));
  seed.spaces.forEach((s, i) => !siteKeys.has(s.site) && problems.push(`spaces[${i}].site: unknown site "${s.site}"`));
  seed.pages.forEach((p, i) => {
    if (!siteKeys.has(p.site)) problems.push(`pages[${i}].site: unknown site "${p.site}"`);
    if (!seed.spaces.some((s) => s.site === p.site && s.key === p.space)) problems.push(`pages[${i}].space: unknown space "${p.space}" on site "${p.site}"`);
    if (!accountIds.has(p.authorAccountId)) problems.push(`pages[${i}].authorAccountId: unknown user "${p.authorAccountId}"`);
  });
  seed.serviceAccounts.forEach((a, i) => {
    const u = seed.users.find((x) => x.accountId === a.accountId);
    if (!u) problems.push(`serviceAccounts[${i}].accountId: unknown user "${a.accountId}"`);
    else if (u.accountType !== 'app') problems.push(`serviceAccounts[${i}].accountId: "${a.accountId}" must be a user with accountType "app"`);
  });
  if (problems.length > 0) throw new Error(`invalid sandbox ${source}: ${problems.join('; ')}`);
  return seed;
}

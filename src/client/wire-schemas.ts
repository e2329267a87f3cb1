import { z } from 'zod';

/**
 * The wire schemas of the /v1 API. The same objects validate requests (server/api/api-routes.ts), generate the
 * OpenAPI document (server/api/openapi.ts) and type the SDK (create-client.ts imports only their types).
 * Wire spelling: camelCase JSON, times as ISO 8601 strings.
 */

const printable = (max: number) => z.string().min(1).max(max).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

export const ExternalUserId = printable(200).describe('Your own, stable id of the user (1-200 printable characters, no spaces).');
export const Site = z.string().min(1).max(300).describe('A site: its cloud id, its site key (`acme` for acme.atlassian.net) or its base URL.');
export const AccountId = printable(128).describe('An Atlassian account id.');
const IsoTime = z.string().describe('ISO 8601 time (UTC).');

export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.string().describe('A stable code such as USER_NOT_LINKED; branch on this, never on the message.'),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional().describe('Machine-readable context, e.g. `linkUrl` for USER_NOT_LINKED and REAUTH_REQUIRED.'),
      requestId: z.string().optional(),
    }),
  })
  .describe('Every error of the API.');

export const LinkRoute = z.enum(['connect', 'oauth']);

export const CreateLinkSessionBody = z
  .object({
    externalUserId: ExternalUserId,
    route: LinkRoute.default('connect').describe('`connect`: the user consents inside Confluence; `oauth`: Atlassian 3LO consent.'),
    site: Site.optional().describe('Link on this site only; without it the user picks (a site-limited key must name one).'),
    returnUrl: z.url({ protocol: /^https?$/ }).max(2000).optional().describe('Where the browser returns; `onbehalf_session`, `onbehalf_status` and `onbehalf_code` are added.'),
    emailHint: z.email().max(320).optional(),
    requireConfirmation: z.boolean().default(true).describe('The forwarded-link guard: the link is usable only after your backend confirms the completion code.'),
    ttlSeconds: z.int().min(60).max(7 * 86_400).default(600),
  })
  .strict();

export const LinkSessionCreated = z.object({ id: z.string(), url: z.url().describe('Send the user here. It holds a secret: treat it like a password-reset link.'), expiresAt: IsoTime });

export const LinkSessionStatus = z.enum(['pending', 'pending_confirmation', 'linked', 'denied', 'expired']);

export const LinkSessionView = z.object({
  id: z.string(),
  externalUserId: z.string(),
  route: LinkRoute,
  cloudId: z.string().nullable(),
  status: LinkSessionStatus,
  linkId: z.string().nullable(),
  createdAt: IsoTime,
  expiresAt: IsoTime,
  completedAt: IsoTime.nullable(),
});

export const ConfirmLinkSessionBody = z
  .object({
    code: z.string().min(1).max(200).describe('The `onbehalf_code` your return URL received.'),
    externalUserId: ExternalUserId.optional().describe('The user your backend believes it is confirming; refused when it is someone else.'),
  })
  .strict();

export const LinkStatus = z.enum(['pending_confirmation', 'linked', 'reauth_required', 'revoked']);

export const Link = z.object({
  id: z.string(),
  externalUserId: z.string(),
  cloudId: z.string(),
  accountId: z.string(),
  route: z.enum(['connect', 'oauth', 'admin', 'forge']),
  scopes: z.array(z.string()),
  status: LinkStatus,
  statusReason: z.string().nullable(),
  createdAt: IsoTime,
  verifiedAt: IsoTime.nullable(),
  updatedAt: IsoTime,
  revokedAt: IsoTime.nullable(),
});

export const LinkList = z.object({ links: z.array(Link) });

export const ListLinksQuery = z
  .object({
    externalUserId: ExternalUserId.optional(),
    accountId: AccountId.optional(),
    site: Site.optional(),
    status: LinkStatus.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export const IdParam = z.object({ id: z.string().min(1).max(100) });

export const ResolveBody = z
  .object({
    site: Site,
    users: z
      .array(z.object({ email: z.email().max(320), externalUserId: ExternalUserId.optional() }).strict())
      .min(1)
      .max(1000)
      .describe('Emails to resolve; name your user to get a link URL back for those that cannot be resolved.'),
  })
  .strict();

export const Resolution = z.discriminatedUnion('status', [
  z
    .object({ email: z.string(), status: z.literal('resolved'), accountId: z.string(), via: z.enum(['oauth_me', 'email_api', 'email_index', 'link']), externalUserId: z.string().nullable() })
    .describe("via 'link': the user you named is already linked on the site; accountId is that link's account (the email itself is not checked). via 'email_index': the Forge site's user index (Atlassian's email API as the app)."),
  z.object({ email: z.string(), status: z.literal('unresolved'), reason: z.string(), linkUrl: z.string().nullable(), linkSessionId: z.string().nullable() }),
]);

export const ResolveResult = z.object({ results: z.array(Resolution) });

export const TokenBody = z
  .object({
    externalUserId: ExternalUserId.optional(),
    accountId: AccountId.optional(),
    site: Site,
    scopes: z.array(z.string().min(1).max(100)).max(50).optional().describe('Narrower scopes; default: the app\'s scopes.'),
  })
  .strict()
  .refine((b) => !b.externalUserId !== !b.accountId, { message: 'Name exactly one of externalUserId or accountId.', path: ['externalUserId'] });

export const TokenResult = z.object({
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresAt: IsoTime,
  apiBaseUrl: z.string().describe('Send the token only to URLs under this base.'),
  route: z.enum(['connect', 'oauth', 'forge']),
  scopes: z.array(z.string()),
});

export const EventsQuery = z
  .object({
    after: z.string().regex(/^\d{1,15}$/, 'a cursor from a previous answer').default('0').describe('The `cursor` of the previous page; 0 (default) from the start.'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export const FeedEvent = z.object({
  id: z.string(),
  at: IsoTime,
  type: z.string().describe('`link.linked`, `link.pending_confirmation`, `link.revoked`, `webhook.<event>`, ...'),
  cloudId: z.string().nullable(),
  accountId: z.string().nullable(),
  externalUserId: z.string().nullable().describe('Attached when the account is linked to one of your users.'),
  data: z.record(z.string(), z.unknown()),
});

export const EventPage = z.object({ events: z.array(FeedEvent), cursor: z.string().describe('Pass as `after` to read on; unchanged when there was nothing new.') });

export const SiteUsersQuery = z.object({ site: Site, q: z.string().min(2).max(100).describe("Part of a person's name (Confluence user search, run as the app).") }).strict();
export const SiteUser = z.object({ accountId: z.string(), displayName: z.string(), email: z.string().nullable().describe('null when the user hides it'), linkedTo: z.string().nullable().describe('Your user the account is linked to on this site') });
export const SiteUserList = z.object({ users: z.array(SiteUser) });
export const MappingsBody = z
  .object({
    site: Site,
    mappings: z.array(z.object({ externalUserId: ExternalUserId, accountId: AccountId }).strict()).min(1).max(1000).describe('Accounts an admin picked, mapped to your users (route `admin`).'),
  })
  .strict();
export const MappingsResult = z.object({ mapped: z.number().int(), failed: z.number().int(), errors: z.array(z.string()).describe('One entry per failed mapping, `#<position>: <reason>`') });

export type SiteUsersInput = z.input<typeof SiteUsersQuery>;
export type SiteUserListWire = z.output<typeof SiteUserList>;
export type MappingsInput = z.input<typeof MappingsBody>;
export type MappingsResultWire = z.output<typeof MappingsResult>;
export type CreateLinkSessionInput = z.input<typeof CreateLinkSessionBody>;
export type LinkSessionCreatedWire = z.output<typeof LinkSessionCreated>;
export type LinkSessionViewWire = z.output<typeof LinkSessionView>;
export type ConfirmLinkSessionInput = z.input<typeof ConfirmLinkSessionBody>;
export type LinkWire = z.output<typeof Link>;
export type ListLinksInput = z.input<typeof ListLinksQuery>;
export type ResolveInputWire = z.input<typeof ResolveBody>;
export type ResolutionWire = z.output<typeof Resolution>;
export type TokenInput = z.input<typeof TokenBody>;
export type TokenResultWire = z.output<typeof TokenResult>;
export type FeedEventWire = z.output<typeof FeedEvent>;
export type EventPageWire = z.output<typeof EventPage>;
export type ErrorEnvelopeWire = z.output<typeof ErrorEnvelope>;

import { z } from 'zod';
import { GatewayError } from '../errors.js';

/**
 * Every Atlassian URL the gateway talks to, in one value that is passed around (never chosen by looking at
 * a hostname suffix). Production values come from the protocol doc; a sandbox publishes its own through a
 * discovery document.
 */
export interface AtlassianEndpoints {
  /** JWT-bearer (2LOi) token endpoint, doc §3.1. */
  readonly impersonationTokenUrl: string;
  /** `aud` of the JWT-bearer assertion: the auth server's base URL, doc §3.2. */
  readonly impersonationAudience: string;
  /** Signed-install public keys live at `<installKeysUrl>/<kid>`, doc §2.5. */
  readonly installKeysUrl: string;
  /** 3LO authorization page, doc §5.1. */
  readonly authorizeUrl: string;
  /** 3LO token endpoint, doc §5.2. */
  readonly tokenUrl: string;
  /** doc §5.4 */
  readonly accessibleResourcesUrl: string;
  /** doc §5.5 */
  readonly meUrl: string;
  /** OAuth API gateway; Confluence calls go to `<apiGatewayUrl>/ex/confluence/{cloudId}/wiki/…`, doc §5.6. */
  readonly apiGatewayUrl: string;
  /** The `all.js` our pages inside Confluence load for the AP bridge (addendum §9.4). */
  readonly connectAllJsUrl: string;
  /** Keys of Forge invocation tokens (addendum §10.4). */
  readonly forgeJwksUrl: string;
  /** Atlassian's GraphQL API: offline user tokens for Forge apps (addendum §10.6). */
  readonly forgeGraphqlUrl: string;
}

export const productionEndpoints: AtlassianEndpoints = Object.freeze({
  impersonationTokenUrl: 'https://oauth-2-authorization-server.services.atlassian.com/oauth2/token',
  impersonationAudience: 'https://oauth-2-authorization-server.services.atlassian.com',
  installKeysUrl: 'https://connect-install-keys.atlassian.com',
  authorizeUrl: 'https://auth.atlassian.com/authorize',
  tokenUrl: 'https://auth.atlassian.com/oauth/token',
  accessibleResourcesUrl: 'https://api.atlassian.com/oauth/token/accessible-resources',
  meUrl: 'https://api.atlassian.com/me',
  apiGatewayUrl: 'https://api.atlassian.com',
  connectAllJsUrl: 'https://connect-cdn.atl-paas.net/all.js',
  forgeJwksUrl: 'https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json',
  forgeGraphqlUrl: 'https://api.atlassian.com/graphql',
});

const httpUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hash === '';
    } catch {
      return false;
    }
  },
  { message: 'must be an absolute http(s) URL without a fragment' },
);

/** A sandbox's discovery document: `{ url, endpoints: { … } }`. Unknown extra fields are ignored. */
export const discoveryDocumentSchema = z.object({
  url: httpUrl,
  endpoints: z.object({
    impersonationToken: httpUrl,
    /** The auth server base URL, i.e. the JWT-bearer assertion's `aud`. Optional; see endpointsFromDiscovery. */
    authServer: httpUrl.optional(),
    /** Alternative explicit spelling of the assertion `aud`; wins over `authServer`. */
    impersonationAudience: httpUrl.optional(),
    authorize: httpUrl,
    token: httpUrl,
    accessibleResources: httpUrl,
    me: httpUrl,
    installKeys: httpUrl,
    api: httpUrl,
    allJs: httpUrl.optional(),
    /** A sandbox with Forge publishes both; an older one does not, and then the production values stand. */
    forgeJwks: httpUrl.optional(),
    graphql: httpUrl.optional(),
  }),
});

export type DiscoveryDocument = z.infer<typeof discoveryDocumentSchema>;

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * Turns a sandbox discovery document into AtlassianEndpoints. The assertion audience is
 * `endpoints.impersonationAudience`, else `endpoints.authServer`, else `url` (trailing `/` removed). A malformed document is CONFIG_INVALID,
 * naming each bad field.
 */
export function endpointsFromDiscovery(doc: unknown): AtlassianEndpoints {
  const parsed = discoveryDocumentSchema.safeParse(doc);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).slice(0, 20);
    throw new GatewayError('CONFIG_INVALID', `The sandbox discovery document is malformed (${problems.join('; ')}).`, {
      details: { reason: 'bad_discovery_document', problems },
    });
  }
  const { url, endpoints: e } = parsed.data;
  return Object.freeze({
    impersonationTokenUrl: e.impersonationToken,
    // The assertion's aud: an explicit value, else the published auth server, else the sandbox URL itself.
    impersonationAudience: withoutTrailingSlash(e.impersonationAudience ?? e.authServer ?? url),
    installKeysUrl: withoutTrailingSlash(e.installKeys),
    authorizeUrl: e.authorize,
    tokenUrl: e.token,
    accessibleResourcesUrl: e.accessibleResources,
    meUrl: e.me,
    // The sandbox publishes the Confluence prefix (`<origin>/ex/confluence`); we keep the gateway's root
    // like production's `https://api.atlassian.com` and add `/ex/confluence/{cloudId}` where it is used.
    apiGatewayUrl: withoutTrailingSlash(e.api).replace(/\/ex\/confluence$/, ''),
    connectAllJsUrl: e.allJs ?? `${withoutTrailingSlash(url)}/atlassian-connect/all.js`,
    forgeJwksUrl: e.forgeJwks ?? productionEndpoints.forgeJwksUrl,
    forgeGraphqlUrl: e.graphql ?? productionEndpoints.forgeGraphqlUrl,
  });
}

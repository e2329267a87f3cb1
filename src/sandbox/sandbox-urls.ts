/** Every public URL of a sandbox, derived from its origin (known only after listen for a real server). */
export interface SandboxUrls {
  siteBaseUrl(siteKey: string): string;
  gatewayBaseUrl(cloudId: string): string;
  /** The impersonation server's URL: the `aud` an assertion must carry. */
  authServer: string;
  impersonationToken: string;
  authorize: string;
  token: string;
  accessibleResources: string;
  me: string;
  installKeys: string;
  api: string;
  allJs: string;
  login: string;
  forgeJwks: string;
  graphql: string;
}

export function createSandboxUrls(origin: string): SandboxUrls {
  return {
    siteBaseUrl: (siteKey) => `${origin}/s/${siteKey}/wiki`,
    gatewayBaseUrl: (cloudId) => `${origin}/ex/confluence/${cloudId}/wiki`,
    authServer: origin,
    impersonationToken: `${origin}/oauth2/token`,
    authorize: `${origin}/authorize`,
    token: `${origin}/oauth/token`,
    accessibleResources: `${origin}/oauth/token/accessible-resources`,
    me: `${origin}/me`,
    installKeys: `${origin}/connect-install-keys`,
    api: `${origin}/ex/confluence`,
    allJs: `${origin}/atlassian-connect/all.js`,
    login: `${origin}/login`,
    forgeJwks: `${origin}/forge/.well-known/jwks.json`,
    graphql: `${origin}/graphql`,
  };
}

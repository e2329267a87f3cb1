import { signHmacJwt } from '../jwt/hs256.js';

/** Builds a JWT-bearer (2LOi) assertion the way §3.2 describes; overrides let tests break one claim. */
export function signAssertion(input: {
  oauthClientId: string;
  accountId: string;
  baseUrl: string;
  authServer: string;
  sharedSecret: string;
  nowSeconds: number;
  overrides?: Record<string, unknown>;
}): string {
  return signHmacJwt(
    {
      iss: `urn:atlassian:connect:clientid:${input.oauthClientId}`,
      sub: `urn:atlassian:connect:useraccountid:${input.accountId}`,
      tnt: input.baseUrl,
      aud: input.authServer,
      iat: input.nowSeconds,
      exp: input.nowSeconds + 60,
      ...input.overrides,
    },
    input.sharedSecret,
  );
}

import type { IssuedToken } from '../../broker/connect-token-broker.js';
import type { ActAsClient } from '../../confluence/create-act-as-client.js';
import type { ActingRequest, ActingRoute } from '../../identity/acting.js';

/** What acting needs from the gateway: the same calls as `gateway.asUser` / `gateway.tokenFor`. */
export interface ApiActing {
  /** `route` and `accountId`, when the client says them, go to the activity view. */
  asUser(req: ActingRequest & { scopes?: readonly string[] }): Promise<ActAsClient & { readonly route?: ActingRoute; readonly accountId?: string }>;
  tokenFor(req: ActingRequest & { scopes?: readonly string[] }): Promise<Pick<IssuedToken, 'accessToken' | 'tokenType' | 'expiresAt' | 'apiBaseUrl' | 'scopes'> & { route: ActingRoute }>;
}

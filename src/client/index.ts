/** `onbehalf/client`: the SDK for app backends that talk to an onbehalf gateway over HTTP. */
export { createClient, type ClientOptions, type OnbehalfClient, type HealthStatus, type ReadyStatus, type ActAsFetch } from './create-client.js';
export { OnbehalfApiError } from './api-error.js';
export type {
  ConfirmLinkSessionInput,
  CreateLinkSessionInput,
  EventPageWire as EventPage,
  FeedEventWire as FeedEvent,
  LinkSessionCreatedWire as LinkSessionCreated,
  LinkSessionViewWire as LinkSessionView,
  LinkWire as Link,
  ListLinksInput,
  ResolutionWire as Resolution,
  ResolveInputWire as ResolveInput,
  TokenInput,
  TokenResultWire as TokenResult,
} from './wire-schemas.js';
// Typed helpers for the everyday Confluence calls; each takes any `{ fetch }` bound to a user: the SDK's
// `client.asUser(id, { site })` or the embedded `await gateway.asUser({ site, externalUserId })`.
export { getCurrentUser, getPage, createPage, updatePage, listSpaces, paginate } from '../confluence/index.js';
export type { ConfluenceUser, ConfluencePage, ConfluenceSpace, CreatePageInput, UpdatePageInput, ListSpacesOptions } from '../confluence/index.js';

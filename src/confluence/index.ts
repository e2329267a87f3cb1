export { createActAsClient } from './create-act-as-client.js';
export type {
  ActAsClient,
  ActAsClientDeps,
  ActAsClientOptions,
  ActAsRetryOptions,
  Credential,
  CredentialRequest,
  CredentialSource,
  UpstreamCallInfo,
} from './create-act-as-client.js';
export { paginate, resolveNextLink, linkHeaderUrl } from './paginate.js';
export type { PaginateOptions } from './paginate.js';
export { getCurrentUser, getPage, createPage, updatePage, listSpaces } from './pages.js';
export type { ConfluenceUser, ConfluencePage, ConfluencePageVersion, ConfluenceSpace, CreatePageInput, UpdatePageInput, ListSpacesOptions, CallOptions } from './pages.js';
export { confluenceError, processConfluenceResponse, errorCodeForStatus } from './process-confluence-response.js';
export { parseApiBase, resolveApiTarget, resolveRedirectTarget } from './resolve-target.js';
export type { ApiBase, TargetRefusal, TargetResult } from './resolve-target.js';

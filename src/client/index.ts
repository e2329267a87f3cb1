/** `onbehalf/client`: the SDK for app backends that talk to an onbehalf gateway over HTTP. */
export { createClient, type ClientOptions, type OnbehalfClient, type HealthStatus, type ReadyStatus } from './create-client.js';
export { OnbehalfApiError } from './api-error.js';

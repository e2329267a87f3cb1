/**
 * The /v1 wire schemas live beside the SDK (src/client/wire-schemas.ts) so the SDK can take its types
 * from them without importing the server; the server validates with the very same objects.
 */
export * from '../../client/wire-schemas.js';

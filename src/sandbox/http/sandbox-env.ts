import type { Principal, Via } from '../auth/resolve-principal.js';
import type { SandboxSite } from '../state/types.js';

/** Hono environment of the sandbox app: what middleware puts on the context for the API routes. */
export interface SandboxEnv {
  Variables: {
    site: SandboxSite;
    via: Via;
    /** `<origin>/s/acme/wiki` or `<origin>/ex/confluence/<cloudId>/wiki`. */
    apiBase: string;
    principal: Principal;
  };
}

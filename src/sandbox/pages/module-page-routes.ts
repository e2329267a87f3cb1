import type { Hono } from 'hono';
import type { SandboxDeps } from '../sandbox-deps.js';

/** Connect module pages (generalPage/configurePage host pages, all.js). */
export function registerModulePageRoutes(_deps: SandboxDeps, _app: Hono): void {
  // filled in below
}

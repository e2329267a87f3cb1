import type { Context } from 'hono';
import type { Clock } from '../../clock.js';
import type { AdminConfig } from '../../config.js';
import type { AdminMapping } from '../../identity/admin-mapping.js';
import type { Links } from '../../identity/links.js';
import type { LinkSessions } from '../../identity/link-sessions.js';
import type { ActivityLog } from '../api/activity-log.js';
import type { ApiActing } from '../api/api-routes.js';
import type { Logger } from '../../logger.js';
import type { AdminSession } from '../../store/admin-sessions-repo.js';
import type { Repositories } from '../../store/repositories.js';
import type { PageFrame } from './admin-layout.js';

/** What the console's pages use: the gateway's own services, never its HTTP API. */
export interface AdminDeps {
  repos: Repositories;
  links: Links;
  adminMapping: AdminMapping;
  clock: Clock;
  logger: Logger;
  baseUrl: string;
  appName: string;
  admin: AdminConfig;
  /** The Connect app key and the 3LO client id (if any): which tenants are this gateway's own installs. */
  appKey: string;
  oauthClientId: string | null;
  /** The Forge app whose remote this gateway is (ONBEHALF_FORGE_APP_ID), or null when the Forge route is off. */
  forgeAppId?: string | null;
  /** Scopes each route may use unless a site's policy narrows them: a policy may only pick from these. */
  routeScopes: { connect: readonly string[]; oauth: readonly string[] };
  /** The in-memory record of act-as calls the activity page shows; absent = recording off. */
  activity?: ActivityLog;
  /** What the activity page's "try it" forms use: the same services as the API, never the HTTP API. */
  tryIt: { linkSessions: Pick<LinkSessions, 'start'>; acting: Pick<ApiActing, 'asUser'> };
}

/** Set by the admin middleware on every signed-in request. */
export interface AdminRequest {
  session: AdminSession;
  /** How the audit log names this admin: the session's public id. */
  actorId: string;
  frame: PageFrame;
}

export function adminOf(c: Context): AdminRequest {
  const a = c.get('admin') as AdminRequest | undefined;
  if (!a) throw new Error('admin route mounted without the admin middleware');
  return a;
}

/** Form fields as strings (a repeated field keeps its last value; file uploads are ignored). */
export async function formOf(c: Context): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (typeof last === 'string') out[k] = last;
  }
  return out;
}

/** All values of a repeated form field (checkboxes). */
export async function formAll(c: Context, name: string): Promise<string[]> {
  const body = await c.req.parseBody({ all: true });
  const v = body[name];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
}

import type { Repositories } from '../../store/repositories.js';
import { siteKeyOf } from '../../tenants/find-tenant.js';

export interface SiteChoice {
  cloudId: string;
  /** `acme (https://acme.atlassian.net/wiki)`. */
  label: string;
  key: string;
  baseUrl: string;
  /** Whether this gateway's Connect app is installed and active there. */
  connectActive: boolean;
  /** Whether this gateway's Forge app is installed there (an active installation). */
  forgeActive: boolean;
  /** Whether the gateway can call the site as the app (Connect or Forge): admin mapping needs it. */
  appActive: boolean;
}

/** The sites the gateway knows (any route, any status), one entry per cloud id, for filters and pickers. */
export async function siteChoices(repos: Repositories, appKey: string, forgeAppId: string | null = null): Promise<SiteChoice[]> {
  const bySite = new Map<string, SiteChoice>();
  for (const t of await repos.tenants.list()) {
    if (!t.cloudId) continue;
    const key = siteKeyOf(t.baseUrl);
    const prior = bySite.get(t.cloudId);
    const connectActive = (prior?.connectActive ?? false) || (t.route === 'connect' && t.appKey === appKey && t.status === 'active');
    const forgeActive = (prior?.forgeActive ?? false) || (forgeAppId !== null && t.route === 'forge' && t.appKey === forgeAppId && t.status === 'active');
    // A Connect or 3LO record names the site by its own URL; a Forge one may only know the API gateway's until a UI call.
    const named = prior && t.route === 'forge' ? prior : { key, baseUrl: t.baseUrl, label: `${key} (${t.baseUrl})` };
    bySite.set(t.cloudId, { cloudId: t.cloudId, ...named, connectActive, forgeActive, appActive: connectActive || forgeActive });
  }
  return [...bySite.values()].sort((a, b) => a.key.localeCompare(b.key));
}

export const PAGE_SIZE = 50;

/** `?page=N` (1-based), bounded so a crafted page number cannot ask the database for a huge offset. */
export function pageOf(raw: string | undefined): number {
  const n = Number(raw ?? '1');
  return Number.isInteger(n) && n >= 1 && n <= 10_000 ? n : 1;
}

/** One value of a fixed set, or undefined (an unknown filter value is ignored rather than an error). */
export function oneOf<T extends string>(raw: string | undefined, allowed: readonly T[]): T | undefined {
  return allowed.includes(raw as T) ? (raw as T) : undefined;
}

/** A trimmed, bounded free-text filter; empty = no filter. */
export function text(raw: string | undefined, max = 200): string | undefined {
  const t = (raw ?? '').trim().slice(0, max);
  return t === '' ? undefined : t;
}

import type { ActingMode, Policy } from '../store/policies-repo.js';

export const ACTING_MODES: readonly ActingMode[] = ['linked_only', 'admin_mapped', 'any_user'];

export interface PolicyInput {
  acting: unknown;
  /** Per route: null = the configured defaults; a list = narrowed to those scopes. */
  allowedScopes: { connect: unknown; oauth: unknown };
}

export type PolicyCheck =
  | { ok: true; acting: ActingMode; allowedScopes: Policy['allowedScopes'] }
  | { ok: false; problems: { field: string; message: string }[] };

/**
 * Checks a site policy edit: the acting mode is one of the three, and a route's scopes can only be
 * narrowed to a non-empty subset of what that route is configured to use (a policy never widens them).
 * Returns every problem at once; nothing is written unless all is well.
 */
export function checkPolicyInput(input: PolicyInput, routeScopes: { connect: readonly string[]; oauth: readonly string[] }): PolicyCheck {
  const problems: { field: string; message: string }[] = [];
  if (!ACTING_MODES.includes(input.acting as ActingMode)) problems.push({ field: 'acting', message: `Acting must be one of ${ACTING_MODES.join(', ')}.` });
  const allowedScopes: Policy['allowedScopes'] = {};
  for (const route of ['connect', 'oauth'] as const) {
    const given = input.allowedScopes[route];
    if (given === null || given === undefined) continue;
    if (!Array.isArray(given) || given.some((s) => typeof s !== 'string')) {
      problems.push({ field: `${route}Scopes`, message: `The ${route} scopes must be a list of scope names.` });
      continue;
    }
    const norm = (s: string) => (route === 'connect' ? s.toUpperCase() : s);
    const configured = new Map(routeScopes[route].map((s) => [norm(s), s]));
    const picked = [...new Set((given as string[]).map((s) => norm(s.trim())).filter((s) => s !== ''))];
    if (picked.length === 0) {
      problems.push({ field: `${route}Scopes`, message: `Pick at least one ${route} scope, or keep the configured defaults.` });
      continue;
    }
    const outside = picked.filter((s) => !configured.has(s));
    if (outside.length > 0) {
      problems.push({ field: `${route}Scopes`, message: `Not configured for the ${route} route, so a policy cannot allow them: ${outside.join(', ')}.` });
      continue;
    }
    allowedScopes[route] = picked.map((s) => configured.get(s) ?? s);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, acting: input.acting as ActingMode, allowedScopes };
}

import type { PrincipalSet, SandboxPage, SandboxSpace, SandboxUser } from './types.js';
import type { SandboxState } from './create-sandbox-state.js';

/** Confluence-style permission checks against the acting user. Missing permission reads as "not found". */

export function inSet(user: SandboxUser, set: PrincipalSet): boolean {
  return set.users.includes(user.accountId) || user.groups.some((g) => set.groups.includes(g));
}

const isEmpty = (set: PrincipalSet): boolean => set.users.length === 0 && set.groups.length === 0;

export function isSiteAdmin(user: SandboxUser): boolean {
  return user.groups.includes('site-admins');
}

export function canUseSite(state: SandboxState, user: SandboxUser, siteKey: string): boolean {
  return user.accountStatus === 'active' && state.userOnSite(user.accountId, siteKey) !== undefined;
}

export function canReadSpace(user: SandboxUser, space: SandboxSpace): boolean {
  return isSiteAdmin(user) || inSet(user, space.permissions.read) || inSet(user, space.permissions.write);
}

export function canWriteSpace(user: SandboxUser, space: SandboxSpace): boolean {
  return isSiteAdmin(user) || inSet(user, space.permissions.write);
}

/** Read restrictions apply to the page and are inherited from every ancestor. */
export function canReadPage(state: SandboxState, user: SandboxUser, page: SandboxPage): boolean {
  const space = state.spaces.get(page.spaceId);
  if (!space || !canReadSpace(user, space)) return false;
  let current: SandboxPage | undefined = page;
  const seen = new Set<string>();
  while (current && !seen.has(current.id)) {
    seen.add(current.id);
    if (!isEmpty(current.restrictions.read) && !inSet(user, current.restrictions.read)) return false;
    current = current.parentId ? state.pages.get(current.parentId) : undefined;
  }
  return true;
}

export function canUpdatePage(state: SandboxState, user: SandboxUser, page: SandboxPage): boolean {
  const space = state.spaces.get(page.spaceId);
  if (!space || !canWriteSpace(user, space) || !canReadPage(state, user, page)) return false;
  return isEmpty(page.restrictions.update) || inSet(user, page.restrictions.update);
}

import type { SandboxPage, SandboxSpace, SandboxUser } from '../state/types.js';
import type { SandboxState } from '../state/create-sandbox-state.js';

/** Wire shapes of Confluence Cloud (v1 and v2), built from the domain model. Spelling as on the wire. */

export const iso = (ms: number): string => new Date(ms).toISOString();

export interface WireContext {
  /** The base URL the request came in on (`<origin>/s/acme/wiki` or `<origin>/ex/confluence/<id>/wiki`). */
  base: string;
  state: SandboxState;
}

/** v1 `User`. `email` is `""` when hidden (or `null` in search results, see `nullHiddenFields`). */
export function toV1User(user: SandboxUser, ctx: WireContext, options: { nullHiddenFields?: boolean } = {}): Record<string, unknown> {
  const hidden = !user.emailVisible;
  return {
    type: 'known',
    accountId: user.accountId,
    accountType: user.accountType === 'customer' ? '' : user.accountType,
    email: hidden ? (options.nullHiddenFields ? null : '') : user.email,
    publicName: user.publicName,
    profilePicture: { path: `/wiki/aa-avatar/${user.accountId}`, width: 48, height: 48, isDefault: true },
    displayName: user.displayName,
    timeZone: hidden && options.nullHiddenFields ? null : user.timeZone,
    isExternalCollaborator: false,
    _expandable: { operations: '', personalSpace: '' },
    _links: { self: `${ctx.base}/rest/api/user?accountId=${encodeURIComponent(user.accountId)}`, base: ctx.base, context: '/wiki' },
  };
}

export function toV2User(user: SandboxUser): Record<string, unknown> {
  return {
    accountId: user.accountId,
    accountStatus: user.accountStatus,
    accountType: user.accountType,
    email: user.emailVisible ? user.email : '',
    publicName: user.publicName,
    displayName: user.displayName,
    timeZone: user.timeZone,
    isExternalCollaborator: false,
    profilePicture: { path: `/wiki/aa-avatar/${user.accountId}`, isDefault: true },
  };
}

/** A user that no longer exists still appears in history; Confluence shows an "unknown" user. */
export function v1UserOrUnknown(accountId: string, ctx: WireContext): Record<string, unknown> {
  const u = ctx.state.users.get(accountId);
  return u ? toV1User(u, ctx) : { type: 'unknown', accountId, accountType: '', email: '', publicName: 'Unknown user', displayName: 'Unknown user' };
}

export function toV2Page(page: SandboxPage, ctx: WireContext, bodyFormat: string | null): Record<string, unknown> {
  const space = ctx.state.spaces.get(page.spaceId);
  const body: Record<string, unknown> = {};
  if (bodyFormat === 'storage' || bodyFormat === 'atlas_doc_format' || bodyFormat === 'view') {
    body[bodyFormat] = { representation: bodyFormat, value: bodyFormat === page.body.representation || bodyFormat === 'view' ? page.body.value : page.body.value };
  }
  return {
    id: page.id,
    status: page.status,
    title: page.title,
    spaceId: page.spaceId,
    parentId: page.parentId,
    parentType: page.parentId ? 'page' : null,
    position: page.position,
    authorId: page.authorId,
    ownerId: page.ownerId,
    lastOwnerId: null,
    createdAt: iso(page.createdAt),
    version: {
      createdAt: iso(page.version.createdAt),
      message: page.version.message,
      number: page.version.number,
      minorEdit: page.version.minorEdit,
      authorId: page.version.authorId,
    },
    body,
    _links: {
      webui: `/spaces/${space?.key ?? ''}/pages/${page.id}/${encodeURIComponent(page.title).replace(/%20/g, '+')}`,
      editui: `/pages/resumedraft.action?draftId=${page.id}`,
      tinyui: `/x/${Buffer.from(page.id).toString('base64url')}`,
      base: ctx.base,
    },
  };
}

export function toV2Space(space: SandboxSpace, ctx: WireContext): Record<string, unknown> {
  return {
    id: space.id,
    key: space.key,
    name: space.name,
    type: space.type,
    status: 'current',
    authorId: space.authorId,
    createdAt: iso(space.createdAt),
    homepageId: space.homepageId,
    description: null,
    icon: null,
    _links: { webui: `/spaces/${space.key}`, base: ctx.base },
  };
}

export function toV1Space(space: SandboxSpace, ctx: WireContext): Record<string, unknown> {
  return {
    id: Number(space.id),
    key: space.key,
    name: space.name,
    type: space.type,
    status: 'current',
    _links: { webui: `/spaces/${space.key}`, self: `${ctx.base}/rest/api/space/${space.key}` },
    _expandable: { homepage: space.homepageId ? `/rest/api/content/${space.homepageId}` : '' },
  };
}

export function toV1Content(page: SandboxPage, ctx: WireContext, expand: Set<string>): Record<string, unknown> {
  const space = ctx.state.spaces.get(page.spaceId);
  const out: Record<string, unknown> = {
    id: page.id,
    type: 'page',
    status: page.status,
    title: page.title,
    space: space ? toV1Space(space, ctx) : undefined,
    history: { latest: true, createdBy: v1UserOrUnknown(page.authorId, ctx), createdDate: iso(page.createdAt) },
    version: {
      by: v1UserOrUnknown(page.version.authorId, ctx),
      when: iso(page.version.createdAt),
      friendlyWhen: 'just a moment ago',
      message: page.version.message,
      number: page.version.number,
      minorEdit: page.version.minorEdit,
      _links: { self: `${ctx.base}/rest/api/content/${page.id}/version/${page.version.number}` },
    },
    _links: {
      self: `${ctx.base}/rest/api/content/${page.id}`,
      webui: `/spaces/${space?.key ?? ''}/pages/${page.id}`,
      tinyui: `/x/${Buffer.from(page.id).toString('base64url')}`,
      base: ctx.base,
      context: '/wiki',
    },
    _expandable: { children: '', descendants: '', restrictions: `/rest/api/content/${page.id}/restriction/byOperation`, ancestors: '', body: '' },
  };
  if (expand.has('ancestors')) {
    const ancestors: Record<string, unknown>[] = [];
    let p = page.parentId ? ctx.state.pages.get(page.parentId) : undefined;
    while (p) {
      ancestors.unshift({ id: p.id, type: 'page', status: p.status, title: p.title });
      p = p.parentId ? ctx.state.pages.get(p.parentId) : undefined;
    }
    out['ancestors'] = ancestors;
  }
  if (expand.has('body.storage') || expand.has('body')) {
    out['body'] = { storage: { value: page.body.value, representation: 'storage' } };
  }
  return out;
}

export function v2Error(status: number, code: string, title: string, detail: string | null = null): Record<string, unknown> {
  return { errors: [{ status, code, title, detail }] };
}

export function v1Error(status: number, message: string): Record<string, unknown> {
  return { statusCode: status, data: { authorized: status !== 401 && status !== 403, valid: true, errors: [], successful: false }, message };
}

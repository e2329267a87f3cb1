import type { PageEventInfo, SandboxDeps } from '../sandbox-deps.js';
import type { ForgeDeliveries } from './forge-deliveries.js';

/**
 * Confluence product events to Forge `trigger` modules (product-events reference): `avi:confluence:<verb>:page`
 * and `avi:confluence:created:comment`, body `{eventType, atlassianId, content}` with the acting user's
 * accountId. Page events need `read:confluence-content.summary` (or a granular read scope [I]).
 */

const EVENT_NAMES: Record<PageEventInfo['event'], string> = {
  page_created: 'avi:confluence:created:page',
  page_updated: 'avi:confluence:updated:page',
  page_trashed: 'avi:confluence:trashed:page',
  page_removed: 'avi:confluence:deleted:page',
  comment_created: 'avi:confluence:created:comment',
};
const READ_SCOPES = ['read:confluence-content.summary', 'read:confluence-content.all', 'read:page:confluence', 'read:comment:confluence'];

export function forgeEventName(event: PageEventInfo['event']): string {
  return EVENT_NAMES[event];
}

function contentOf(deps: SandboxDeps, info: PageEventInfo): Record<string, unknown> {
  const { page } = info;
  const space = deps.state.spaces.get(page.spaceId);
  const spaceRef = { id: page.spaceId, key: space?.key ?? '', name: space?.name ?? '', type: space?.type ?? 'global' };
  const pageContent = {
    id: page.id,
    type: 'page',
    status: page.status,
    title: page.title,
    space: spaceRef,
    history: { createdBy: { accountId: page.authorId, accountType: 'atlassian' }, createdDate: new Date(page.createdAt).toISOString() },
    version: { number: page.version.number, when: new Date(page.version.createdAt).toISOString(), by: { accountId: page.version.authorId } },
  };
  if (!info.comment) return pageContent;
  const cm = info.comment;
  return {
    id: cm.id,
    type: 'comment',
    status: 'current',
    title: `Re: ${page.title}`,
    space: spaceRef,
    container: { id: page.id, type: 'page', title: page.title },
    history: { createdBy: { accountId: cm.authorId, accountType: 'atlassian' }, createdDate: new Date(cm.createdAt).toISOString() },
    version: { number: cm.version.number },
  };
}

export function subscribeProductEvents(deps: SandboxDeps, deliveries: ForgeDeliveries): void {
  deps.pageEvents.on((info) => {
    const eventType = EVENT_NAMES[info.event];
    const site = deps.state.siteByKey(info.page.siteKey);
    if (!site) return;
    for (const inst of deps.state.forgeInstallations.values()) {
      if (!inst.installed || inst.siteKey !== site.key) continue;
      if (!inst.current.manifest.scopes.some((s) => READ_SCOPES.includes(s.name))) continue;
      const targets = inst.current.manifest.triggers.filter((t) => t.events.includes(eventType)).map((t) => ({ endpoint: t.endpoint, moduleKey: t.key }));
      if (targets.length === 0) continue;
      const payload = { eventType, atlassianId: info.actor.accountId, suppressNotifications: false, content: contentOf(deps, info), context: { cloudId: site.cloudId } };
      void deliveries.deliver(inst, eventType, targets, payload);
    }
  });
}

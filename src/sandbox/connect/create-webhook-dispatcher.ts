import type { PageEventInfo, SandboxDeps } from '../sandbox-deps.js';
import type { ConnectInstall } from '../state/types.js';
import { computeQsh } from '../jwt/canonical-request.js';
import { signHmacJwt } from '../jwt/hs256.js';
import { appContextPath, joinAppUrl } from './descriptor-schema.js';

export interface WebhookDispatcher {
  /** Resolves when every delivery started so far has finished (tests and the control API use it). */
  flush(): Promise<void>;
}

/** Body of `page_created`/`page_updated` as captured (§4.2): no event name, `accountType: "customer"`. */
export function pageWebhookBody(deps: SandboxDeps, info: PageEventInfo): Record<string, unknown> {
  const { page } = info;
  const space = deps.state.spaces.get(page.spaceId);
  const base = deps.urls.siteBaseUrl(page.siteKey);
  if (info.comment) {
    // `comment_created` (§4.2 lists it; the body shape is [I], modelled on the page captures).
    const cm = info.comment;
    return {
      comment: {
        idAsString: cm.id,
        id: cm.id,
        creatorAccountId: cm.authorId,
        spaceKey: space?.key ?? '',
        spaceId: Number(page.spaceId),
        self: `${base}/spaces/${space?.key ?? ''}/pages/${page.id}?focusedCommentId=${cm.id}`,
        contentType: 'comment',
        creationDate: cm.createdAt,
        modificationDate: cm.version.createdAt,
        lastModifierAccountId: cm.version.authorId,
        version: cm.version.number,
        parent: { idAsString: page.id, id: page.id, title: page.title, spaceKey: space?.key ?? '', contentType: 'page', creatorAccountId: page.authorId, version: page.version.number },
      },
      userAccountId: info.actor.accountId,
      timestamp: deps.clock.now(),
      accountType: 'customer',
    };
  }
  return {
    page: {
      idAsString: page.id,
      creatorAccountId: page.authorId,
      spaceKey: space?.key ?? '',
      spaceId: Number(page.spaceId),
      modificationDate: page.version.createdAt,
      lastModifierAccountId: page.version.authorId,
      self: `${base}/spaces/${space?.key ?? ''}/pages/${page.id}/${encodeURIComponent(page.title).replace(/%20/g, '+')}`,
      id: page.id,
      title: page.title,
      creationDate: page.createdAt,
      contentType: 'page',
      version: page.version.number,
    },
    userAccountId: info.actor.accountId,
    timestamp: deps.clock.now(),
    accountType: 'customer',
    updateTrigger: info.updateTrigger,
    suppressNotifications: false,
  };
}

export function createWebhookDispatcher(deps: SandboxDeps): WebhookDispatcher {
  const pending = new Set<Promise<void>>();

  const deliver = async (install: ConnectInstall, url: string, info: PageEventInfo): Promise<void> => {
    const target = joinAppUrl(install.descriptor.baseUrl, url);
    const full = `${target}${target.includes('?') ? '&' : '?'}${deps.settings.webhookQuery}`;
    const iat = Math.floor(deps.clock.now() / 1000);
    const qsh = computeQsh({ method: 'POST', url: full, contextPath: appContextPath(install.descriptor.baseUrl) });
    const jwt = signHmacJwt({ iss: install.clientKey, sub: info.actor.accountId, context: {}, qsh, iat, exp: iat + 900 }, install.sharedSecret);
    let status = 0;
    try {
      const res = await deps.outboundFetch(full, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `JWT ${jwt}` },
        body: JSON.stringify(pageWebhookBody(deps, info)),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch {
      status = 0;
    }
    deps.counters.record('webhook', { app: install.appKey, user: info.actor.accountId, site: install.siteKey, route: info.event });
    deps.counters.log({ at: deps.clock.now(), kind: 'webhook', method: 'POST', path: full, status, app: install.appKey, user: info.actor.accountId, site: install.siteKey, route: info.event });
  };

  deps.pageEvents.on((info) => {
    for (const install of deps.state.installs.values()) {
      if (install.siteKey !== info.page.siteKey || !install.installed || !install.enabled) continue;
      for (const hook of install.descriptor.modules?.webhooks ?? []) {
        if (hook.event !== info.event) continue;
        const p = deliver(install, hook.url, info).finally(() => pending.delete(p));
        pending.add(p);
      }
    }
  });

  return {
    async flush() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

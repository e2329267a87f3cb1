import type { ConnectConfig } from '../config.js';

/** Page events whose actors feed the known-accounts directory; comments too, since commenters are users. */
export const WEBHOOK_EVENTS = [
  'page_created',
  'page_updated',
  'page_trashed',
  'page_restored',
  'page_removed',
  'page_moved',
  'comment_created',
  'comment_updated',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const LINK_PAGE_KEY = 'onbehalf-link';
export const CONFIGURE_PAGE_KEY = 'onbehalf-configure';
export const LIFECYCLE_PATHS = { installed: '/installed', uninstalled: '/uninstalled', enabled: '/enabled', disabled: '/disabled' } as const;

export interface ConnectDescriptor {
  key: string;
  name: string;
  description: string;
  vendor: { name: string; url?: string };
  baseUrl: string;
  apiVersion: 1;
  authentication: { type: 'jwt' };
  apiMigrations: { 'signed-install': true; 'context-qsh': true; gdpr: false };
  lifecycle: typeof LIFECYCLE_PATHS;
  scopes: string[];
  modules: {
    webhooks: { event: WebhookEvent; url: string }[];
    generalPages: { key: string; name: { value: string }; url: string; location: string }[];
    configurePage: { key: string; name: { value: string }; url: string };
  };
}

/**
 * The gateway's Connect descriptor, derived from config only. Signed installs and context-qsh are opted
 * into (protocol doc §2.5, §1.5); the linking page has `location: "none"`, so it is reachable by URL but
 * adds nothing to Confluence's menus.
 */
export function connectDescriptor(connect: ConnectConfig, baseUrl: string): ConnectDescriptor {
  return {
    key: connect.appKey,
    name: connect.appName,
    description: `${connect.appName} lets your own applications act in Confluence on behalf of the users who connect their account.`,
    vendor: connect.vendorUrl ? { name: connect.vendorName, url: connect.vendorUrl } : { name: connect.vendorName },
    baseUrl,
    apiVersion: 1,
    authentication: { type: 'jwt' },
    apiMigrations: { 'signed-install': true, 'context-qsh': true, gdpr: false },
    lifecycle: LIFECYCLE_PATHS,
    scopes: ['READ', 'WRITE', 'ACT_AS_USER', ...(connect.emailAccess ? ['ACCESS_EMAIL_ADDRESSES'] : [])],
    modules: {
      webhooks: WEBHOOK_EVENTS.map((event) => ({ event, url: `/connect/webhooks/${event}` })),
      generalPages: [{ key: LINK_PAGE_KEY, name: { value: `Connect your account to ${connect.appName}` }, url: '/connect/link?session={ac.session}', location: 'none' }],
      configurePage: { key: CONFIGURE_PAGE_KEY, name: { value: `Configure ${connect.appName}` }, url: '/connect/configure' },
    },
  };
}

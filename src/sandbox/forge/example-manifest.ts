/**
 * A Forge manifest of the shape a gateway remote uses (protocol doc §10.1 example): a Custom UI global page
 * and a space page whose resolver is the remote, lifecycle and product-event triggers, an hourly scheduled
 * trigger, and scopes with `allowImpersonation`. Tests, docs and demos start from it; every option changes
 * one part so a test can build the variant it needs.
 */
export interface ExampleManifestOptions {
  appId?: string;
  /** `app.name` is deprecated in favour of the Developer Console, so it is left out unless given. */
  name?: string;
  baseUrl?: string;
  /** Scope name → allowImpersonation. */
  scopes?: Record<string, boolean>;
  /** Product events for the `events` trigger (default: page created/updated, comment created). */
  events?: string[];
  /** Adds `app.connect` and `connectModules.confluence:lifecycle` (Connect-on-Forge, §10.8). */
  connectKey?: string;
  userTokenOnUi?: boolean;
  interval?: 'fiveMinute' | 'hour' | 'day' | 'week';
}

export const EXAMPLE_APP_ID = 'ari:cloud:ecosystem::app/0c6e4a52-5c8a-4f53-9b1e-3a7d2f6b8e10';

export const EXAMPLE_SCOPES: Record<string, boolean> = {
  'read:app-system-token': false,
  'read:app-user-token': false,
  'read:confluence-content.summary': true,
  'read:confluence-content.all': true,
  'read:page:confluence': true,
  'write:confluence-content': true,
  'write:page:confluence': true,
  'read:confluence-user': true,
  'read:email-address:confluence': false,
};

export function exampleForgeManifest(options: ExampleManifestOptions = {}): string {
  const scopes = options.scopes ?? EXAMPLE_SCOPES;
  const events = options.events ?? ['avi:confluence:created:page', 'avi:confluence:updated:page', 'avi:confluence:created:comment'];
  const connect = options.connectKey
    ? `  connect:\n    key: ${options.connectKey}\n    remote: gateway\n    authentication: jwt\n`
    : '';
  const connectModules = options.connectKey
    ? `connectModules:\n  confluence:lifecycle:\n    - key: connect-lifecycle\n      installed: /connect/installed\n      uninstalled: /connect/uninstalled\n`
    : '';
  return `app:
  id: ${options.appId ?? EXAMPLE_APP_ID}
${options.name ? `  name: ${options.name}\n` : ''}  runtime:
    name: nodejs22.x
${connect}modules:
  confluence:globalPage:
    - key: link-account
      title: Connect your account
      route: link-account
      resource: ui
      resolver:
        endpoint: gateway-ui
  confluence:spacePage:
    - key: space-link
      title: Connect your account (space)
      route: space-link
      resource: ui
      resolver:
        endpoint: gateway-ui
  endpoint:
    - key: gateway-ui
      remote: gateway
      auth:
        appUserToken:
          enabled: ${options.userTokenOnUi ?? true}
        appSystemToken:
          enabled: true
    - key: gateway-lifecycle
      remote: gateway
      route:
        path: /forge/lifecycle
      auth:
        appSystemToken:
          enabled: true
    - key: gateway-events
      remote: gateway
      route:
        path: /forge/events
      auth:
        appSystemToken:
          enabled: true
    - key: gateway-tick
      remote: gateway
      route:
        path: /forge/tick
      auth:
        appSystemToken:
          enabled: true
  trigger:
    - key: lifecycle
      endpoint: gateway-lifecycle
      events:
        - avi:forge:installed:app
        - avi:forge:upgraded:app
    - key: product-events
      endpoint: gateway-events
      events:
${events.map((e) => `        - ${e}`).join('\n')}
  scheduledTrigger:
    - key: token-keepalive
      endpoint: gateway-tick
      interval: ${options.interval ?? 'hour'}
${connectModules}resources:
  - key: ui
    path: static/ui
remotes:
  - key: gateway
    baseUrl: ${options.baseUrl ?? 'https://gateway.example.com'}
    operations:
      - compute
      - storage
    storage:
      inScopeEUD: true
permissions:
  scopes:
${Object.entries(scopes).map(([name, imp]) => `    ${name}:${imp ? '\n      allowImpersonation: true' : ' {}'}`).join('\n')}
`;
}

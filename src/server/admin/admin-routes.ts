import type { RouteDef } from '../routes.js';
import { ADMIN_CSS } from './admin-assets.js';
import type { AdminDeps } from './admin-deps.js';
import { accountsRoutes } from './accounts-routes.js';
import { apiKeysRoutes } from './api-keys-routes.js';
import { auditRoutes } from './audit-routes.js';
import { forgeConsoleRoutes } from './forge-console-routes.js';
import { activityRoutes } from './activity-routes.js';
import { linkSessionsRoutes } from './link-sessions-routes.js';
import { linksRoutes } from './links-routes.js';
import { mappingRoutes } from './mapping-routes.js';
import { overviewRoutes } from './overview-routes.js';
import { policiesRoutes } from './policies-routes.js';
import { signInRoutes } from './sign-in-routes.js';

/** Every route of the admin console; all but sign-in and the stylesheet need a console session. */
export function adminRoutes(deps: AdminDeps): RouteDef[] {
  return [
    {
      method: 'GET',
      path: '/assets/admin.css',
      auth: 'public',
      summary: 'Stylesheet of the admin console.',
      handler: (c) => c.body(ADMIN_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600' }),
    },
    ...signInRoutes(deps),
    ...overviewRoutes(deps),
    ...forgeConsoleRoutes(deps),
    ...linksRoutes(deps),
    ...linkSessionsRoutes(deps),
    ...accountsRoutes(deps),
    ...mappingRoutes(deps),
    ...auditRoutes(deps),
    ...activityRoutes(deps),
    ...apiKeysRoutes(deps),
    ...policiesRoutes(deps),
  ];
}

import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { SandboxDeps } from '../sandbox-deps.js';
import { parseBody as body } from '../control/control-routes.js';
import type { SandboxForge } from './create-forge.js';
import { installationInfo, type ForgeResult } from './forge-installs.js';
import type { ForgeInstallation } from './forge-types.js';

/** The Forge part of the control API under `/_sandbox/` (docs/sandbox.md, "Forge"). */

const remotes = z.record(z.string(), z.string().url()).optional();
const resources = z.record(z.string(), z.string().min(1)).optional();
const deployInput = z.object({ manifest: z.string().min(1), remotes, resources }).strict();
const installInput = deployInput
  .extend({
    environmentType: z.enum(['DEVELOPMENT', 'STAGING', 'PRODUCTION']).optional(),
    installedBy: z.string().optional(),
    distribution: z.enum(['shared', 'private']).optional(),
    contributors: z.array(z.string()).optional(),
  })
  .strict();
const accessPatch = z.object({ distribution: z.enum(['shared', 'private']).optional(), contributors: z.array(z.string()).optional(), blockedUsers: z.array(z.string()).optional() }).strict();

function answer<T>(c: Context, r: ForgeResult<T>, ok: (v: T) => Response): Response {
  if (r.ok) return ok(r.value);
  return c.json({ error: { code: r.code, message: r.message, ...(r.errors ? { details: { errors: r.errors } } : {}) } }, r.status);
}

export function registerForgeControlRoutes(deps: SandboxDeps, app: Hono, forge: SandboxForge): void {
  const info = (inst: ForgeInstallation) => installationInfo(deps, inst);
  const withInstallation = (fn: (c: Context, inst: ForgeInstallation) => Response | Promise<Response>) => async (c: Context) => {
    const inst = forge.find(c.req.param('site') ?? '', decodeURIComponent(c.req.param('app') ?? ''));
    if (!inst) return c.json({ error: { code: 'NOT_FOUND', message: 'no Forge installation of that app on this site' } }, 404);
    return fn(c, inst);
  };

  app.post('/_sandbox/sites/:site/forge-apps', async (c) => {
    const b = await body(c, installInput);
    if (!b.ok) return b.response;
    const r = await forge.install(c.req.param('site'), b.value);
    return answer(c, r, (inst) => c.json(info(inst), 201));
  });
  app.get('/_sandbox/forge/installations', (c) => c.json([...deps.state.forgeInstallations.values()].map(info)));
  app.get('/_sandbox/sites/:site/forge-apps/:app', withInstallation((c, inst) => c.json(info(inst))));
  app.delete('/_sandbox/sites/:site/forge-apps/:app', withInstallation((c, inst) => answer(c, forge.uninstall(inst), (i) => c.json(info(i)))));
  app.post('/_sandbox/sites/:site/forge-apps/:app/reinstall', withInstallation(async (c, inst) => answer(c, await forge.reinstall(inst), (i) => c.json(info(i), 201))));
  app.post(
    '/_sandbox/sites/:site/forge-apps/:app/upgrade',
    withInstallation(async (c, inst) => {
      const b = await body(c, deployInput);
      if (!b.ok) return b.response;
      return answer(c, await forge.deployUpgrade(inst, b.value), (v) => c.json({ ...v, installation: info(inst) }));
    }),
  );
  app.post(
    '/_sandbox/sites/:site/forge-apps/:app/approve-upgrade',
    withInstallation(async (c, inst) => {
      const b = await body(c, z.object({ approvedBy: z.string().optional() }).strict());
      if (!b.ok) return b.response;
      return answer(c, await forge.approveUpgrade(inst, b.value.approvedBy), (i) => c.json(info(i)));
    }),
  );
  app.patch(
    '/_sandbox/sites/:site/forge-apps/:app/access',
    withInstallation(async (c, inst) => {
      const b = await body(c, accessPatch);
      if (!b.ok) return b.response;
      if (b.value.distribution) inst.distribution = b.value.distribution;
      if (b.value.contributors) inst.contributors = [...b.value.contributors];
      if (b.value.blockedUsers) inst.blockedUsers = [...b.value.blockedUsers];
      return c.json(info(inst));
    }),
  );
  app.post('/_sandbox/sites/:site/forge-apps/:app/scheduled-triggers/:key/run', withInstallation(async (c, inst) => answer(c, await forge.runScheduledTrigger(inst, c.req.param('key') ?? ''), (rec) => c.json(rec))));
  app.post(
    '/_sandbox/sites/:site/forge-apps/:app/tokens/expire',
    withInstallation(async (c, inst) => {
      const b = await body(c, z.object({ which: z.enum(['system', 'all']).default('system') }).strict());
      if (!b.ok) return b.response;
      return c.json({ expired: forge.expireTokens(inst, b.value.which) });
    }),
  );
  app.post('/_sandbox/sites/:site/apps/:appKey/upgrade-to-forge', async (c) => {
    const b = await body(c, installInput);
    if (!b.ok) return b.response;
    const r = await forge.upgradeConnectToForge(c.req.param('site'), c.req.param('appKey'), b.value);
    return answer(c, r, (inst) => c.json(info(inst), 201));
  });
  app.post('/_sandbox/forge/keys/rotate', async (c) => c.json(await deps.forgeKeys.rotate()));
  app.post('/_sandbox/forge/keys/retire', async (c) => c.json(await deps.forgeKeys.retireOld()));
  app.get('/_sandbox/forge/deliveries', (c) => {
    const q = c.req.query();
    return c.json(forge.deliveries.records().filter((r) => (!q['site'] || r.site === q['site']) && (!q['label'] || r.label === q['label']) && (!q['installationId'] || r.installationId === q['installationId'])));
  });
  app.post('/_sandbox/forge/flush', async (c) => {
    await forge.deliveries.flush();
    return c.body(null, 204);
  });
  app.post('/_sandbox/forge/tick', async (c) => {
    forge.deliveries.tick();
    await forge.deliveries.flush();
    return c.body(null, 204);
  });
}

import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { GatewayError } from '../../errors.js';
import { forgeAppManifest } from '../../tenants/forge-app-manifest.js';
import type { Command } from '../command.js';

export const forgeManifestCommand: Command = {
  name: ['forge', 'manifest'],
  summary: "Render the Forge app's manifest.yml for your gateway URL and app id (then forge deploy from forge-app/).",
  usage: 'onbehalf forge manifest --gateway-url URL --app-id ARI [--out FILE]',
  options: { 'gateway-url': { type: 'string' }, 'app-id': { type: 'string' }, out: { type: 'string' }, 'allow-http': { type: 'boolean' } },
  help: `  --gateway-url URL      the gateway's public https URL (default: ONBEHALF_BASE_URL); Forge calls it as the app's remote
  --app-id ARI           ari:cloud:ecosystem::app/<uuid> from "forge register" (default: ONBEHALF_FORGE_APP_ID)
  --out FILE             write there (e.g. forge-app/manifest.yml) instead of printing it
  --allow-http           accept a plain http gateway URL (the sandbox only; Forge needs https)

The gateway must run with the same app id (ONBEHALF_FORGE_APP_ID): it is the "aud" of every invocation token.
Then, in forge-app/: npm install && npm run build && forge deploy && forge install. See docs/linking.md.`,
  async run(ctx) {
    const s = (k: string) => (typeof ctx.values[k] === 'string' ? (ctx.values[k] as string) : undefined);
    const gatewayUrl = s('gateway-url') ?? ctx.env['ONBEHALF_BASE_URL'];
    const appId = s('app-id') ?? ctx.env['ONBEHALF_FORGE_APP_ID'];
    if (!gatewayUrl || !appId) throw new GatewayError('BAD_REQUEST', 'Give --gateway-url and --app-id (or set ONBEHALF_BASE_URL and ONBEHALF_FORGE_APP_ID).');
    let manifest: string;
    try {
      manifest = forgeAppManifest({ gatewayUrl, appId, allowHttp: ctx.values['allow-http'] === true });
    } catch (e) {
      if (e instanceof TypeError) throw new GatewayError('VALIDATION_FAILED', e.message);
      throw e;
    }
    const out = s('out');
    if (out) {
      writeFileSync(resolve(ctx.cwd, out), manifest);
      ctx.err(`wrote ${resolve(ctx.cwd, out)}`);
    } else ctx.out(manifest.replace(/\n$/, ''));
    return 0;
  },
};

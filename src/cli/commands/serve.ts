import { createGateway } from '../../gateway.js';
import { CONFIG_OPTIONS, CONFIG_OPTIONS_HELP, SERVER_OPTIONS, SERVER_OPTIONS_HELP, type Command } from '../command.js';
import { configFromArgs } from '../config-from-args.js';
import { explainPortInUse } from '../explain-port-in-use.js';

export const serveCommand: Command = {
  name: ['serve'],
  summary: 'Run the gateway (HTTP API, Connect app, consent pages) against the configured store.',
  usage: 'onbehalf serve [flags]',
  options: { ...SERVER_OPTIONS, ...CONFIG_OPTIONS, 'no-migrate': { type: 'boolean' } },
  help: `${SERVER_OPTIONS_HELP}\n${CONFIG_OPTIONS_HELP}\n  --no-migrate           do not apply pending migrations at start (/readyz reports them)`,
  async run(ctx) {
    const config = configFromArgs(ctx);
    const gateway = await createGateway(config, { migrate: ctx.values['no-migrate'] !== true });
    let url: string;
    try {
      ({ url } = await explainPortInUse({ what: 'the gateway', port: config.server.port, flag: '--port', env: 'ONBEHALF_PORT' }, () => gateway.listen()));
    } catch (e) {
      await gateway.close();
      throw e;
    }
    gateway.logger.info({ url, store: gateway.store.description }, `onbehalf gateway listening on ${url}`);
    ctx.out(JSON.stringify({ url }));
    const signal = await ctx.stopSignal;
    gateway.logger.info({ signal }, 'shutting down');
    await gateway.close();
    return 0;
  },
};

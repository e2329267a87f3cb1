import { loadConfig, type Config, type ConfigFlags } from '../config.js';
import type { CommandContext } from './command.js';

/** `extra` flags win over the command line: `up` uses it to point the gateway at the sandbox it started. */
export function configFromArgs(ctx: CommandContext, extra: ConfigFlags = {}): Config {
  const v = ctx.values;
  const s = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const flags: ConfigFlags = {};
  const map: [keyof ConfigFlags, string][] = [
    ['host', 'host'],
    ['port', 'port'],
    ['baseUrl', 'base-url'],
    ['dataDir', 'data-dir'],
    ['databaseUrl', 'database-url'],
    ['sqliteFile', 'sqlite-file'],
    ['keyFile', 'key-file'],
    ['logLevel', 'log-level'],
    ['sandboxUrl', 'sandbox-url'],
  ];
  for (const [key, flag] of map) {
    const value = s(flag);
    if (value !== undefined) flags[key] = value;
  }
  return loadConfig(ctx.env, { ...flags, ...extra }, ctx.cwd);
}

import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** What a command gets: its parsed flags, its positional words, and where to write. */
export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Resolves when the process is asked to stop (Ctrl-C, SIGTERM); long-running commands await it. */
  stopSignal: Promise<string>;
}

export interface Command {
  /** Words that select it: `['keys', 'rotate']`. */
  name: readonly string[];
  summary: string;
  usage: string;
  options: OptionSpec;
  /** Extra help text after the flag list. */
  help?: string;
  run(ctx: CommandContext): Promise<number>;
}

/** Flags every command that opens the store or serves accepts; they map onto config variables. */
export const CONFIG_OPTIONS = {
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
  'sqlite-file': { type: 'string' },
  'key-file': { type: 'string' },
  'log-level': { type: 'string' },
} as const satisfies OptionSpec;

export const SERVER_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'base-url': { type: 'string' },
  'sandbox-url': { type: 'string' },
} as const satisfies OptionSpec;

export const CONFIG_OPTIONS_HELP = `Store and key flags (each also an environment variable, see docs/configuration.md):
  --data-dir DIR         ONBEHALF_DATA_DIR      (default ./data)
  --database-url URL     DATABASE_URL           PostgreSQL instead of the embedded SQLite file
  --sqlite-file FILE     ONBEHALF_SQLITE_FILE
  --key-file FILE        ONBEHALF_KEY_FILE
  --log-level LEVEL      ONBEHALF_LOG_LEVEL`;

export const SERVER_OPTIONS_HELP = `Server flags:
  --host HOST            ONBEHALF_HOST          (default 127.0.0.1)
  --port PORT            ONBEHALF_PORT          (default 4000)
  --base-url URL         ONBEHALF_BASE_URL      public URL of the gateway
  --sandbox-url URL      ONBEHALF_SANDBOX_URL   talk to an onbehalf sandbox instead of Atlassian`;

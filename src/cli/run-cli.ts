import { parseArgs } from 'node:util';
import { isGatewayError } from '../errors.js';
import type { Command, CommandContext } from './command.js';
import { allCommands } from './commands/index.js';

export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  out: (line: string) => void;
  err: (line: string) => void;
  stopSignal: Promise<string>;
}

/** Exit codes: 0 done, 1 the work failed, 2 the command line (or configuration) was wrong. */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly Command[] = allCommands()): Promise<number> {
  const words = argv.filter((a) => !a.startsWith('-'));
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const command = [...commands].sort((a, b) => b.name.length - a.name.length).find((c) => c.name.every((w, i) => words[i] === w));

  if (!command) {
    if (argv.length === 0 || (wantsHelp && words.length === 0) || words[0] === 'help') {
      io.out(overview(commands));
      return 0;
    }
    const group = commands.filter((c) => c.name[0] === words[0]);
    if (group.length > 0) {
      io.err(`onbehalf ${words[0]}: choose one of: ${group.map((c) => c.name.slice(1).join(' ')).join(', ')}\n`);
      io.err(group.map((c) => `  onbehalf ${c.name.join(' ').padEnd(18)} ${c.summary}`).join('\n'));
      return 2;
    }
    io.err(`onbehalf: unknown command "${words.join(' ')}". Run onbehalf --help for the list.`);
    return 2;
  }

  if (wantsHelp) {
    io.out(commandHelp(command));
    return 0;
  }

  const rest = dropFirst(argv, command.name);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...rest], options: command.options, allowPositionals: true, strict: true });
  } catch (e) {
    io.err(`onbehalf ${command.name.join(' ')}: ${(e as Error).message}\nUsage: ${command.usage}`);
    return 2;
  }
  const ctx: CommandContext = {
    values: parsed.values as CommandContext['values'],
    positionals: parsed.positionals,
    env: io.env,
    cwd: io.cwd,
    out: io.out,
    err: io.err,
    stopSignal: io.stopSignal,
  };
  try {
    return await command.run(ctx);
  } catch (e) {
    if (isGatewayError(e)) {
      io.err(`onbehalf ${command.name.join(' ')}: ${e.message}`);
      return e.code === 'CONFIG_INVALID' || e.code === 'BAD_REQUEST' || e.code === 'VALIDATION_FAILED' ? 2 : 1;
    }
    io.err(`onbehalf ${command.name.join(' ')}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

function dropFirst(argv: readonly string[], names: readonly string[]): string[] {
  const out = [...argv];
  for (const n of names) out.splice(out.indexOf(n), 1);
  return out;
}

function overview(commands: readonly Command[]): string {
  const lines = commands.map((c) => `  ${c.name.join(' ').padEnd(18)} ${c.summary}`);
  return `onbehalf: act on behalf of your users in Confluence Cloud.

Usage: onbehalf COMMAND [flags]

Commands:
${lines.join('\n')}

Run onbehalf COMMAND --help for a command's flags. Settings: docs/configuration.md.`;
}

function commandHelp(c: Command): string {
  return `${c.summary}\n\nUsage: ${c.usage}${c.help ? `\n\n${c.help}` : ''}`;
}

import { loadSeedFile } from './seed/load-seed-file.js';
import { startSandboxServer, type SandboxServer } from './start-sandbox-server.js';

export interface RunSandboxCommandOptions {
  port?: number;
  host?: string;
  /** Path of a JSON seed file (`--seed FILE`). */
  seedPath?: string;
  /** Where the ready line goes (default: process.stdout). */
  write?: (line: string) => void;
}

/**
 * What `onbehalf sandbox --port N [--seed FILE]` does: start the server and print one JSON line
 * `{"url", "discovery", "sites"}` to stdout once it is ready. The CLI owns argv parsing and signals.
 */
export async function runSandboxCommand(options: RunSandboxCommandOptions = {}): Promise<SandboxServer> {
  const seed = options.seedPath ? loadSeedFile(options.seedPath) : undefined;
  const server = await startSandboxServer({
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(seed ? { seed } : {}),
  });
  const d = server.sandbox.control.discovery();
  const line = JSON.stringify({ url: server.url, discovery: `${server.url}/_sandbox/discovery`, sites: d.sites.map((s) => ({ key: s.key, baseUrl: s.baseUrl, cloudId: s.cloudId })) });
  (options.write ?? ((l: string) => void process.stdout.write(l)))(`${line}\n`);
  return server;
}

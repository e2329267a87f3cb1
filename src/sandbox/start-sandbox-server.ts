import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../clock.js';
import { createSandbox, type Sandbox } from './create-sandbox.js';
import type { SandboxSeed } from './seed/seed-schema.js';
import type { SandboxSettings } from './sandbox-deps.js';

export interface StartSandboxServerOptions {
  /** 0 (default) = any free port. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  seed?: SandboxSeed;
  clock?: Clock;
  fetch?: typeof fetch;
  settings?: Partial<SandboxSettings>;
}

export interface SandboxServer {
  url: string;
  sandbox: Sandbox;
  close(): Promise<void>;
}

/**
 * Serves a sandbox over real HTTP. The origin is only known after listen, so the server starts with a
 * handler that waits, then the sandbox is built with that origin (all base URLs derive from it).
 */
export async function startSandboxServer(options: StartSandboxServerOptions = {}): Promise<SandboxServer> {
  const host = options.host ?? '127.0.0.1';
  let sandbox: Sandbox | null = null;
  let server: ServerType | null = null;
  const info = await new Promise<AddressInfo>((resolve, reject) => {
    server = serve(
      {
        hostname: host,
        port: options.port ?? 0,
        fetch: (req, env) => (sandbox ? sandbox.app.fetch(req, env) : new Response('starting', { status: 503 })),
      },
      (addr) => resolve(addr),
    );
    (server as unknown as { once(e: string, l: (err: Error) => void): void }).once('error', reject);
  });
  const hostForUrl = info.family === 'IPv6' || host.includes(':') ? `[${info.address}]` : info.address;
  const url = `http://${hostForUrl}:${info.port}`;
  sandbox = createSandbox({
    origin: url,
    ...(options.seed ? { seed: options.seed } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.settings ? { settings: options.settings } : {}),
  });
  const s = server as unknown as { close(cb: (err?: Error) => void): void; closeAllConnections?: () => void };
  return {
    url,
    sandbox,
    close: () =>
      new Promise<void>((resolve, reject) => {
        sandbox?.forge.deliveries.stop();
        s.closeAllConnections?.();
        s.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

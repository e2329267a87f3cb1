import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a test remote received, headers lower-cased. */
export interface RemoteRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export type RemoteReply = { status?: number; headers?: Record<string, string>; body?: unknown; rawBody?: string; delayMs?: number };

export interface TestForgeRemote {
  url: string;
  received: RemoteRequest[];
  /** Decides each answer (default: 200 `{"ok":true}`); may be async. */
  respond(fn: (req: RemoteRequest) => RemoteReply | Promise<RemoteReply>): void;
  /** Resolves with the first request (already received or future) that matches. */
  waitFor(match: (req: RemoteRequest) => boolean, timeoutMs?: number): Promise<RemoteRequest>;
  close(): Promise<void>;
}

/**
 * A Forge remote for tests on 127.0.0.1:0 over node:http: it records every invocation and answers what the
 * test says. It verifies nothing itself, so tests can check the FITs it received with their own verifier.
 */
export async function startTestForgeRemote(): Promise<TestForgeRemote> {
  const received: RemoteRequest[] = [];
  const waiters: { match: (r: RemoteRequest) => boolean; resolve: (r: RemoteRequest) => void }[] = [];
  let responder: (req: RemoteRequest) => RemoteReply | Promise<RemoteReply> = () => ({ body: { ok: true } });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const entry: RemoteRequest = { method: req.method ?? '', path: req.url ?? '', headers, body };
    received.push(entry);
    for (const w of [...waiters]) if (w.match(entry)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(entry);
    }
    const reply = await responder(entry);
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    const out = reply.rawBody ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
    res.writeHead(reply.status ?? 200, { ...(reply.rawBody === undefined && out !== '' ? { 'content-type': 'application/json' } : {}), ...reply.headers });
    res.end(out);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    respond: (fn) => void (responder = fn),
    waitFor(match, timeoutMs = 10_000) {
      const hit = received.find(match);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the test remote did not receive the expected request in time')), timeoutMs);
        waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

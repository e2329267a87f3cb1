import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createTestConnectApp, type TestConnectApp } from './create-test-connect-app.js';

/** Serves a test Connect app on 127.0.0.1:0 over real HTTP. */
export async function startTestConnectAppServer(options: { scopes?: string[]; basePath?: string } = {}): Promise<{ testApp: TestConnectApp; close(): Promise<void> }> {
  let testApp: TestConnectApp | null = null;
  let server: ReturnType<typeof serve> | null = null;
  const info = await new Promise<AddressInfo>((resolve) => {
    server = serve({ hostname: '127.0.0.1', port: 0, fetch: (req) => (testApp ? testApp.app.fetch(req) : new Response('starting', { status: 503 })) }, resolve);
  });
  testApp = createTestConnectApp({ baseUrl: `http://127.0.0.1:${info.port}${options.basePath ?? ''}`, ...(options.scopes ? { scopes: options.scopes } : {}) });
  const s = server as unknown as { close(cb: () => void): void; closeAllConnections(): void };
  return {
    testApp,
    close: () =>
      new Promise<void>((resolve) => {
        s.closeAllConnections();
        s.close(() => resolve());
      }),
  };
}

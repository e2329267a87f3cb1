import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { startSandboxServer, type SandboxServer } from '../start-sandbox-server.js';
import { startTestForgeRemote, type TestForgeRemote } from './start-test-forge-remote.js';
import { exampleForgeManifest, type ExampleManifestOptions } from '../forge/example-manifest.js';

export interface ForgeInstallInfo {
  appId: string;
  environmentId: string;
  installationId: string;
  cloudId: string;
  apiBaseUrl: string;
  version: string;
  appUserAccountId: string;
  pages: { type: string; key: string; url: string }[];
}

export interface ForgeWorld {
  sb: SandboxServer;
  remote: TestForgeRemote;
  post(path: string, body?: unknown): Promise<Response>;
  install(options?: ExampleManifestOptions & { site?: string; extra?: Record<string, unknown> }): Promise<ForgeInstallInfo>;
  /** Verifies a FIT as Atlassian's documented sample does: the JWKS from discovery, issuer and audience (at sandbox time). */
  verifyFit(authorization: string | undefined, appId: string, currentDate?: Date): Promise<JWTPayload>;
  close(): Promise<void>;
}

/** A sandbox on a real port with a test remote beside it, for the Forge tests. */
export async function startForgeWorld(): Promise<ForgeWorld> {
  const sb = await startSandboxServer();
  const remote = await startTestForgeRemote();
  const jwks = createRemoteJWKSet(new URL(sb.sandbox.control.discovery().endpoints.forgeJwks));
  const post = (path: string, body?: unknown) =>
    fetch(`${sb.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return {
    sb,
    remote,
    post,
    async install(options = {}) {
      const res = await post(`/_sandbox/sites/${options.site ?? 'acme'}/forge-apps`, { manifest: exampleForgeManifest(options), remotes: { gateway: remote.url }, ...options.extra });
      if (res.status !== 201) throw new Error(`install answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as ForgeInstallInfo;
    },
    async verifyFit(authorization, appId, currentDate) {
      const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
      if (!token) throw new Error('no Bearer FIT');
      const { payload } = await jwtVerify(token, jwks, { issuer: 'forge/invocation-token', audience: appId, currentDate: currentDate ?? new Date(sb.sandbox.clock.now()) });
      return payload;
    },
    async close() {
      await sb.sandbox.forge.deliveries.flush();
      await remote.close();
      await sb.close();
    },
  };
}

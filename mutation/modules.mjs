// The security-critical modules that `npm run mutation` mutates, each with the tests that cover it.
// Stryker runs only these test files for a module (and, per mutant, only those of them that reach the
// mutated code), so a module's run takes minutes, not the whole suite's time per mutant.
// Keep a module's test list to the files that really exercise it: a heavy integration file here costs
// its run time once per mutant it covers.

/** @type {Record<string, { about: string; mutate: string[]; tests: string[] }>} */
export const MODULES = {
  'connect-jwt': {
    about: 'Connect JWT and qsh: canonical request, HS256 sign/verify, extraction from a request',
    mutate: ['src/atlassian/canonical-request.ts', 'src/atlassian/verify-connect-jwt.ts', 'src/atlassian/sign-connect-jwt.ts', 'src/atlassian/extract-connect-jwt.ts', 'src/atlassian/compact-jwt.ts', 'src/atlassian/jwt-time.ts'],
    tests: ['src/atlassian/canonical-request.test.ts', 'src/atlassian/verify-connect-jwt.test.ts', 'src/atlassian/extract-connect-jwt.test.ts'],
  },
  'install-verification': {
    about: 'signed-install verification (RS256) and install key resolution',
    mutate: ['src/atlassian/verify-install-token.ts', 'src/atlassian/install-key-resolver.ts'],
    tests: ['src/atlassian/verify-install-token.test.ts'],
  },
  'api-key-auth': {
    about: 'API-key authentication and the per-key rate limit',
    mutate: ['src/server/api/api-key-auth.ts'],
    tests: ['src/server/api/api-key-auth.test.ts', 'test/api/rate-limit-openapi.test.ts'],
  },
  'proxy-target': {
    about: 'where a credential may go (target resolution) and the proxy header and body filters',
    mutate: ['src/confluence/resolve-target.ts', 'src/server/api/proxy.ts'],
    // proxy-forward.test.ts drives forwardRaw over real loopback HTTP (a node:http upstream, the gateway's
    // transport) in milliseconds; test/api/proxy-limits.test.ts and proxy-listener.test.ts cover the same
    // through a whole gateway (~10 s per mutant) and are left out.
    tests: ['src/confluence/resolve-target.test.ts', 'src/server/api/proxy.test.ts', 'src/server/api/proxy-forward.test.ts'],
  },
  'linking-decisions': {
    about: 'link sessions (forwarded-link guard, decide, confirm) and acting decisions',
    mutate: ['src/identity/link-sessions.ts', 'src/identity/acting.ts', 'src/identity/links.ts'],
    // Unit tests on a real SQLite file reach every decision here in milliseconds; the integration suites
    // (test/integration/*-linking.test.ts, ~20 s per mutant) cover the same paths through the pages and are left out.
    tests: ['src/identity/link-sessions.test.ts', 'src/identity/link-sessions-start.test.ts', 'src/identity/link-sessions-decide.test.ts', 'src/identity/link-sessions-confirm.test.ts', 'src/identity/acting.test.ts', 'src/identity/acting-routes.test.ts', 'src/identity/links.test.ts'],
  },
  'secrets-at-rest': {
    about: 'secret box (AES-256-GCM) and the keyring file',
    mutate: ['src/store/secret-box.ts', 'src/store/keyring.ts'],
    tests: ['src/store/secret-box.test.ts', 'src/store/keyring.test.ts', 'src/store/secrets-at-rest.test.ts'],
  },
  brokers: {
    about: 'token brokers: the Connect (JWT-bearer) broker and the parts all brokers share (single-flight, cache, refresh rule), the Forge per-app rate limiter',
    mutate: ['src/broker/connect-token-broker.ts', 'src/broker/forge-rate-limiter.ts', 'src/broker/single-flight.ts', 'src/broker/lru-cache.ts', 'src/broker/should-refresh.ts'],
    tests: ['src/broker/connect-token-broker.test.ts', 'src/broker/connect-token-broker.grants.test.ts', 'src/broker/broker-parts.test.ts', 'src/broker/forge-rate-limiter.test.ts'],
  },
  'brokers-3lo-forge': {
    about: 'the 3LO token broker (refresh rotation under the lease) and the Forge token broker (offline user tokens)',
    mutate: ['src/broker/oauth-token-broker.ts', 'src/broker/forge-token-broker.ts'],
    // forge-token-broker.test.ts reaches the Forge broker in milliseconds (a SQLite file, a scripted GraphQL
    // endpoint); test/integration/forge-token-broker.test.ts runs it against the sandbox (~9 s a file) and is
    // left out for time. oauth-token-broker.test.ts runs against the sandbox in-process (~2 s a file on
    // SQLite); oauth-token-broker.races.test.ts puts another writer between two of the broker's steps.
    // oauth-token-broker.processes.test.ts is left out: its brokers run in child processes, which Stryker's
    // per-test coverage cannot see.
    tests: ['src/broker/oauth-token-broker.test.ts', 'src/broker/oauth-token-broker.edges.test.ts', 'src/broker/oauth-token-broker.races.test.ts', 'src/broker/forge-token-broker.test.ts'],
  },
  'refresh-lock': {
    about: 'the cross-process 3LO refresh lease (a row with owner and deadline; short write transactions)',
    mutate: ['src/store/with-refresh-lock.ts'],
    tests: ['src/store/with-refresh-lock.test.ts'],
  },
  'admin-auth': {
    about: 'admin console sign-in (secret check, throttle, session rotation), sign-out, sessions and CSRF/origin checks',
    mutate: ['src/server/admin/admin-auth.tsx', 'src/server/admin/admin-security.ts', 'src/server/admin/sign-in-routes.tsx'],
    // These put the guard and the sign-in routes in front of a page on a real SQLite file (milliseconds a
    // test); admin-auth.test.ts (the same through a whole gateway, ~10 s per mutant) is left out.
    tests: ['src/server/admin/admin-auth-middleware.test.ts', 'src/server/admin/sign-in-routes.test.ts', 'src/server/admin/admin-security.test.ts'],
  },
  'forge-invocation-token': {
    about: 'the Forge invocation-token (FIT) verifier and the offline user token exchange',
    mutate: ['src/atlassian/verify-forge-invocation-token.ts', 'src/atlassian/offline-user-auth-token.ts'],
    tests: ['src/atlassian/verify-forge-invocation-token.test.ts', 'src/atlassian/offline-user-auth-token.test.ts'],
  },
};

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../errors.js';
import { endpointsFromDiscovery, productionEndpoints } from './endpoints.js';

const sandbox = 'http://127.0.0.1:4010';
const doc = {
  url: `${sandbox}/`,
  endpoints: {
    impersonationToken: `${sandbox}/oauth2/token`,
    authorize: `${sandbox}/authorize`,
    token: `${sandbox}/oauth/token`,
    accessibleResources: `${sandbox}/oauth/token/accessible-resources`,
    me: `${sandbox}/me`,
    installKeys: `${sandbox}/install-keys/`,
    api: `${sandbox}/`,
  },
  extra: 'ignored',
};

describe('endpoints', () => {
  test('production values are the documented ones', () => {
    assert.deepEqual(productionEndpoints, {
      impersonationTokenUrl: 'https://oauth-2-authorization-server.services.atlassian.com/oauth2/token',
      impersonationAudience: 'https://oauth-2-authorization-server.services.atlassian.com',
      installKeysUrl: 'https://connect-install-keys.atlassian.com',
      authorizeUrl: 'https://auth.atlassian.com/authorize',
      tokenUrl: 'https://auth.atlassian.com/oauth/token',
      accessibleResourcesUrl: 'https://api.atlassian.com/oauth/token/accessible-resources',
      meUrl: 'https://api.atlassian.com/me',
      apiGatewayUrl: 'https://api.atlassian.com',
      connectAllJsUrl: 'https://connect-cdn.atl-paas.net/all.js',
      forgeJwksUrl: 'https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json',
      forgeGraphqlUrl: 'https://api.atlassian.com/graphql',
    });
    assert.ok(Object.isFrozen(productionEndpoints));
  });

  test('a discovery document maps field by field; audience defaults to url; base URLs lose trailing /', () => {
    assert.deepEqual(endpointsFromDiscovery(doc), {
      impersonationTokenUrl: `${sandbox}/oauth2/token`,
      impersonationAudience: sandbox,
      installKeysUrl: `${sandbox}/install-keys`,
      authorizeUrl: `${sandbox}/authorize`,
      tokenUrl: `${sandbox}/oauth/token`,
      accessibleResourcesUrl: `${sandbox}/oauth/token/accessible-resources`,
      meUrl: `${sandbox}/me`,
      apiGatewayUrl: sandbox,
      connectAllJsUrl: `${sandbox}/atlassian-connect/all.js`,
      // A discovery document without Forge (an older sandbox) leaves Atlassian's values.
      forgeJwksUrl: 'https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json',
      forgeGraphqlUrl: 'https://api.atlassian.com/graphql',
    });
  });

  test("a sandbox's Forge endpoints are taken from its discovery document", () => {
    const out = endpointsFromDiscovery({ ...doc, endpoints: { ...doc.endpoints, forgeJwks: `${sandbox}/forge/.well-known/jwks.json`, graphql: `${sandbox}/graphql` } });
    assert.deepEqual([out.forgeJwksUrl, out.forgeGraphqlUrl], [`${sandbox}/forge/.well-known/jwks.json`, `${sandbox}/graphql`]);
  });

  test('an api endpoint published with its /ex/confluence prefix maps to the gateway root', () => {
    assert.equal(endpointsFromDiscovery({ ...doc, endpoints: { ...doc.endpoints, api: `${sandbox}/ex/confluence` } }).apiGatewayUrl, sandbox);
    assert.equal(endpointsFromDiscovery({ ...doc, endpoints: { ...doc.endpoints, api: `${sandbox}/ex/confluence/` } }).apiGatewayUrl, sandbox);
  });

  test('endpoints.authServer (as the sandbox publishes it) is the assertion audience', () => {
    const out = endpointsFromDiscovery({ ...doc, endpoints: { ...doc.endpoints, authServer: `${sandbox}/auth-server/` } });
    assert.equal(out.impersonationAudience, `${sandbox}/auth-server`);
  });

  test('an explicit impersonationAudience wins over authServer', () => {
    const out = endpointsFromDiscovery({
      ...doc,
      endpoints: { ...doc.endpoints, authServer: `${sandbox}/auth-server`, impersonationAudience: `${sandbox}/auth` },
    });
    assert.equal(out.impersonationAudience, `${sandbox}/auth`);
  });

  const malformed: Array<[string, unknown, string]> = [
    ['not an object', 'nope', '(document)'],
    ['null', null, '(document)'],
    ['missing endpoints', { url: sandbox }, 'endpoints'],
    ['missing token', { ...doc, endpoints: { ...doc.endpoints, token: undefined } }, 'endpoints.token'],
    ['relative me URL', { ...doc, endpoints: { ...doc.endpoints, me: '/me' } }, 'endpoints.me'],
    ['non-http api', { ...doc, endpoints: { ...doc.endpoints, api: 'file:///etc/passwd' } }, 'endpoints.api'],
    ['numeric url', { ...doc, url: 4010 }, 'url'],
  ];
  for (const [name, input, field] of malformed) {
    test(`refuses a document with ${name}, naming ${field}`, () => {
      assert.throws(
        () => endpointsFromDiscovery(input),
        (e: unknown) => {
          assert.ok(e instanceof GatewayError);
          assert.equal(e.code, 'CONFIG_INVALID');
          assert.match(e.message, new RegExp(field.replace(/[.()]/g, '\\$&')));
          return true;
        },
      );
    });
  }
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_VARIABLES, loadConfig } from './config.js';
import { GatewayError, isGatewayError } from './errors.js';

const cwd = '/srv/app';

function problems(env: Record<string, string>, flags = {}): string {
  try {
    loadConfig(env, flags, cwd);
  } catch (e) {
    assert.ok(isGatewayError(e, 'CONFIG_INVALID'));
    return e.message;
  }
  assert.fail('expected a configuration error');
}

test('defaults: embedded SQLite under ./data, generated key file, loopback port 4000', () => {
  const c = loadConfig({}, {}, cwd);
  assert.deepEqual(c.server, { host: '127.0.0.1', port: 4000, baseUrl: 'http://127.0.0.1:4000' });
  assert.deepEqual(c.database, { kind: 'sqlite', file: '/srv/app/data/onbehalf.sqlite' });
  assert.deepEqual(c.keys, { source: 'file', path: '/srv/app/data/master-key.json', generateIfMissing: true });
  assert.equal(c.embedded, true);
  assert.equal(c.log.level, 'info');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.server) && Object.isFrozen(c.database));
});

test('flags win over environment variables', () => {
  const c = loadConfig({ ONBEHALF_PORT: '5000', ONBEHALF_HOST: '0.0.0.0' }, { port: '6000', dataDir: 'var' }, cwd);
  assert.equal(c.server.port, 6000);
  assert.equal(c.server.host, '0.0.0.0');
  assert.equal(c.dataDir, '/srv/app/var');
});

test('PostgreSQL mode never generates keys on its own', () => {
  const c = loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/ob', ONBEHALF_DATABASE_SCHEMA: 'gw' }, {}, cwd);
  assert.deepEqual(c.database, { kind: 'postgres', url: 'postgres://u:p@db:5432/ob', schema: 'gw', poolSize: 10 });
  assert.equal(c.embedded, false);
  assert.equal(c.keys.source === 'file' && c.keys.generateIfMissing, false);
});

test('inline master keys, first active', () => {
  const a = randomBytes(32).toString('base64');
  const b = randomBytes(32).toString('base64');
  const c = loadConfig({ ONBEHALF_MASTER_KEYS: `new:${b}, old:${a}` }, {}, cwd);
  assert.equal(c.keys.source, 'env');
  assert.deepEqual(c.keys.source === 'env' && c.keys.keys.map((k) => k.id), ['new', 'old']);
});

test('every bad value is reported at once, naming the variable and the fix', () => {
  const msg = problems({
    ONBEHALF_PORT: 'eighty',
    ONBEHALF_BASE_URL: 'ftp://x',
    ONBEHALF_LOG_LEVEL: 'loud',
    DATABASE_URL: 'mysql://root:hunter2@db/x',
  });
  assert.match(msg, /ONBEHALF_PORT \(or --port\): must be a whole number from 0 to 65535, got "eighty"/);
  assert.match(msg, /ONBEHALF_BASE_URL \(or --base-url\): must be an absolute http\(s\) URL/);
  assert.match(msg, /ONBEHALF_LOG_LEVEL \(or --log-level\): must be one of/);
  assert.match(msg, /DATABASE_URL \(or --database-url\): must be a postgres:\/\//);
  assert.ok(!msg.includes('hunter2'), 'the database password is never echoed');
});

test('the error lists the variables in details for programs', () => {
  try {
    loadConfig({ ONBEHALF_PORT: '70000' }, {}, cwd);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof GatewayError);
    assert.deepEqual(e.details, { variables: ['ONBEHALF_PORT (or --port)'] });
  }
});

test('master key problems', () => {
  assert.match(problems({ ONBEHALF_MASTER_KEYS: 'k1:c2hvcnQ=' }), /ONBEHALF_MASTER_KEYS: key "k1" must decode to exactly 32 bytes/);
  assert.match(problems({ ONBEHALF_MASTER_KEYS: `bad id:${randomBytes(32).toString('base64')}` }), /id:base64key/);
  const k = randomBytes(32).toString('base64');
  assert.match(problems({ ONBEHALF_MASTER_KEYS: `a:${k},a:${k}` }), /appears twice/);
  assert.match(problems({ ONBEHALF_MASTER_KEYS: `a:${k}`, ONBEHALF_KEY_FILE: '/k.json' }), /both set/);
  const secretKey = randomBytes(32).toString('base64');
  assert.ok(!problems({ ONBEHALF_MASTER_KEYS: `a:${secretKey}`, ONBEHALF_KEY_FILE: '/k.json' }).includes(secretKey), 'keys are never echoed');
});

test('base URL: trailing slash trimmed, query refused', () => {
  assert.equal(loadConfig({ ONBEHALF_BASE_URL: 'https://gw.example.com/onbehalf/' }, {}, cwd).server.baseUrl, 'https://gw.example.com/onbehalf');
  assert.match(problems({ ONBEHALF_BASE_URL: 'https://gw.example.com/?a=1' }), /must not carry a query/);
});

test('Connect app, Atlassian endpoints and broker settings', () => {
  const c = loadConfig({}, {}, cwd);
  assert.deepEqual(c.connect, { appKey: 'onbehalf', appName: 'onbehalf', vendorName: 'onbehalf', vendorUrl: null, emailAccess: false, tenantRetentionDays: 30, adminGroups: ['site-admins', 'confluence-admins', 'administrators'] });
  assert.deepEqual(c.atlassian, { sandboxUrl: null, endpointOverrides: {}, allowInsecure: false, jwtLeewaySeconds: 5 });
  assert.deepEqual(c.broker, { refreshSkewSeconds: 60, cacheMaxEntries: 10000 });
  const s = loadConfig({ ONBEHALF_CONNECT_EMAIL_ACCESS: 'true', ONBEHALF_ATLASSIAN_TOKEN_URL: 'http://127.0.0.1:9/token' }, { sandboxUrl: 'http://127.0.0.1:4100/' }, cwd);
  assert.equal(s.connect.emailAccess, true);
  assert.equal(s.atlassian.sandboxUrl, 'http://127.0.0.1:4100');
  assert.equal(s.atlassian.allowInsecure, true, 'a sandbox implies plain http');
  assert.deepEqual(s.atlassian.endpointOverrides, { tokenUrl: 'http://127.0.0.1:9/token' });
  assert.match(problems({ ONBEHALF_ATLASSIAN_TOKEN_URL: 'http://auth.example/token' }), /ONBEHALF_ATLASSIAN_TOKEN_URL: must be an https:\/\/ URL; plain http needs ONBEHALF_ALLOW_INSECURE_ATLASSIAN=true/);
  assert.match(problems({ ONBEHALF_SANDBOX_URL: 'http://127.0.0.1:4100/path' }), /must be the origin of a sandbox/);
  assert.match(problems({ ONBEHALF_CONNECT_APP_KEY: 'has spaces' }), /ONBEHALF_CONNECT_APP_KEY/);
  assert.match(problems({ ONBEHALF_JWT_LEEWAY_SECONDS: '31' }), /from 0 to 30/);
  assert.match(problems({ ONBEHALF_CONNECT_EMAIL_ACCESS: 'maybe' }), /true or false/);
});

test('OAuth 2.0 (3LO) settings: both or neither, and the secret is never echoed', () => {
  const c = loadConfig({}, {}, cwd);
  assert.equal(c.oauth.clientId, null);
  assert.equal(c.oauth.idleRefreshDays, 30);
  assert.ok(c.oauth.scopes.includes('read:me'));
  const msg = problems({ ONBEHALF_OAUTH_CLIENT_SECRET: 'sekrit-value-123' });
  assert.match(msg, /ONBEHALF_OAUTH_CLIENT_ID: set both/);
  assert.ok(!msg.includes('sekrit-value-123'));
  const ok = loadConfig({ ONBEHALF_OAUTH_CLIENT_ID: 'cid', ONBEHALF_OAUTH_CLIENT_SECRET: 's', ONBEHALF_OAUTH_SCOPES: 'read:me, write:confluence-content' }, {}, cwd);
  assert.deepEqual(ok.oauth.scopes, ['read:me', 'write:confluence-content']);
});

test('docs/configuration.md documents every variable', () => {
  const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
  for (const v of CONFIG_VARIABLES) {
    assert.ok(doc.includes(`\`${v.env}\``), `${v.env} is missing from docs/configuration.md`);
    if (v.flag) assert.ok(doc.includes(`\`${v.flag}\``), `${v.flag} is missing from docs/configuration.md`);
  }
});

test('admin console: off by default; a short secret is refused with a fix-it message that never echoes it', () => {
  const off = loadConfig({}, {}, cwd);
  assert.deepEqual(off.admin, { secret: null, sessionMaxMs: 12 * 3_600_000, sessionIdleMs: 30 * 60_000 });
  const secret = 'x'.repeat(31);
  const message = problems({ ONBEHALF_ADMIN_SECRET: secret });
  assert.match(message, /ONBEHALF_ADMIN_SECRET: must be at least 32 printable characters without spaces \(got 31\)\. Generate one with: node -e/);
  assert.ok(!message.includes(secret));
  assert.match(problems({ ONBEHALF_ADMIN_SECRET: `${'y'.repeat(20)} ${'z'.repeat(20)}` }), /ONBEHALF_ADMIN_SECRET/);
  assert.match(problems({ ONBEHALF_ADMIN_IDLE_MINUTES: '0' }), /ONBEHALF_ADMIN_IDLE_MINUTES: must be a whole number from 1 to 1440/);
  const on = loadConfig({ ONBEHALF_ADMIN_SECRET: 'S'.repeat(32), ONBEHALF_ADMIN_SESSION_HOURS: '2', ONBEHALF_ADMIN_IDLE_MINUTES: '5' }, {}, cwd);
  assert.deepEqual(on.admin, { secret: 'S'.repeat(32), sessionMaxMs: 2 * 3_600_000, sessionIdleMs: 5 * 60_000 });
});

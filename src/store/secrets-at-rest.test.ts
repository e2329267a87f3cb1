import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { isGatewayError } from '../errors.js';
import { rotateSecrets, secretsByKey } from './rotate-secrets.js';
import { createRepositories } from './repositories.js';
import { ENCRYPTED_COLUMNS } from './schema.js';
import { createSecretBox } from './secret-box.js';
import { testBackends } from './test-support/backends.js';
import { openTestStore, testKeyring, type TestStore } from './test-support/open-test-store.js';

/** Distinctive plaintexts: if any of these shows up in the raw database bytes, encryption at rest failed. */
const SECRETS = {
  sharedSecret: 'PLAINTEXT-shared-secret-7f3a9c',
  refreshToken: 'PLAINTEXT-refresh-token-51be02',
  previousRefreshToken: 'PLAINTEXT-previous-refresh-9d4e11',
  accessToken: 'PLAINTEXT-access-token-c0ffee',
  clientSecret: 'PLAINTEXT-client-secret-ab12cd',
};
const MARKER = 'https://marker-site-4411.example/wiki';

async function writeSecrets(t: TestStore): Promise<string> {
  await t.repos.tenants.upsert({ route: 'connect', appKey: 'app', tenantKey: 'ck', baseUrl: MARKER, sharedSecret: SECRETS.sharedSecret, oauthClientId: 'oc' });
  await t.repos.tokens.put(
    { route: 'oauth', appKey: 'cid', tenantKey: '', accountId: 'acc', kind: 'refresh', scopeKey: 'read' },
    { token: SECRETS.refreshToken, previousToken: SECRETS.previousRefreshToken, expiresAt: null },
  );
  await t.repos.tokens.put({ route: 'connect', appKey: 'app', tenantKey: 'ck', accountId: 'acc', kind: 'access', scopeKey: 'READ' }, { token: SECRETS.accessToken, expiresAt: 1 });
  await t.repos.oauthApps.upsert({ clientId: 'cid', clientSecret: SECRETS.clientSecret, redirectUri: 'http://x/cb', scopes: ['read:me'], source: 'config' });
  const { secret } = await t.repos.apiKeys.create({ name: 'scan' });
  return secret;
}

function rawBytes(t: TestStore): string {
  const config = t.config;
  if (config.kind === 'sqlite') {
    // The WAL holds recent writes that have not reached the main file yet: scan both.
    return [config.file, `${config.file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join('\n');
  }
  return execFileSync('pg_dump', ['--no-owner', '--schema', config.schema, config.url], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 });
}

for (const backend of testBackends()) {
  describe(`secrets at rest: ${backend.name}`, () => {
    let t: TestStore;
    before(async () => {
      t = await openTestStore(backend, testKeyring(['k1']));
    }, { timeout: 120_000 });
    after(async () => {
      await t.close();
    }, { timeout: 120_000 });

    test('no secret reaches the database in plaintext (raw file / pg_dump scan)', { timeout: 180_000 }, async () => {
      const apiKey = await writeSecrets(t);
      const raw = rawBytes(t);
      assert.ok(raw.includes(MARKER), 'the scan sees the rows it should (non-secret marker found)');
      assert.ok(raw.includes('ob1.k1.'), 'ciphertexts are there');
      for (const [name, value] of Object.entries(SECRETS)) assert.ok(!raw.includes(value), `${name} is not in plaintext`);
      assert.ok(!raw.includes(apiKey), 'the API key is stored only as a hash');
      assert.ok(!raw.includes(apiKey.slice(12)), 'no part of the API key past its display prefix is stored');
    });

    test('key rotation re-encrypts everything, survives an interruption and resumes', { timeout: 180_000 }, async () => {
      // More rows than one batch, so the interruption lands mid-column.
      for (let i = 0; i < 7; i++) {
        await t.repos.tokens.put({ route: 'connect', appKey: 'app', tenantKey: 'ck', accountId: `bulk-${i}`, kind: 'access', scopeKey: 'READ' }, { token: `bulk-token-${i}`, expiresAt: 1 });
      }
      const k1Only = await secretsByKey(t.store, ['k1']);
      const total = k1Only.reduce((n, r) => n + r.count, 0);
      assert.ok(total >= 12);

      const next = testKeyring(['k2']);
      const keys = new Map([...t.keyring.keys, ...next.keys]);
      const rotatingBox = createSecretBox({ activeKeyId: 'k2', keys });
      let committed = 0;
      await assert.rejects(
        rotateSecrets(t.store, rotatingBox, {
          batchSize: 3,
          onBatch: (p) => {
            committed += p.reencrypted;
            // Crash after the first committed batch of the tokens column: mid-column, other columns done.
            if (p.column === 'tokens.token') throw new Error('simulated crash');
          },
        }),
        /simulated crash/,
      );
      const mid = await secretsByKey(t.store, ['k1', 'k2']);
      const onK2 = mid.filter((r) => r.keyId === 'k2').reduce((n, r) => n + r.count, 0);
      const onK1 = mid.filter((r) => r.keyId === 'k1').reduce((n, r) => n + r.count, 0);
      assert.equal(onK2, committed, 'exactly the committed batches moved');
      assert.ok(committed >= 3 && committed < total);
      assert.equal(onK1, total - committed);
      assert.ok(!mid.some((r) => r.keyId === '(unknown key)'));

      // Mixed state is fully readable with both keys.
      const mixed = createRepositories({ store: t.store, box: rotatingBox, clock: t.clock });
      assert.equal((await mixed.tokens.get({ route: 'connect', appKey: 'app', tenantKey: 'ck', accountId: 'bulk-6', kind: 'access', scopeKey: 'READ' }))?.token, 'bulk-token-6');

      const resumed = await rotateSecrets(t.store, rotatingBox, { batchSize: 3 });
      assert.equal(resumed.reencrypted, total - committed, 'resume touches only what is left');
      const done = await secretsByKey(t.store, ['k1', 'k2']);
      assert.ok(done.every((r) => r.keyId === 'k2'), JSON.stringify(done));
      assert.equal((await rotateSecrets(t.store, rotatingBox)).reencrypted, 0, 'a finished rotation is a no-op');

      // The old key can now be dropped: everything opens with k2 alone.
      const newOnly = createRepositories({ store: t.store, box: createSecretBox({ activeKeyId: 'k2', keys: new Map([['k2', keys.get('k2') as Buffer]]) }), clock: t.clock });
      const tenant = await newOnly.tenants.find('connect', 'app', 'ck');
      assert.equal(await newOnly.tenants.sharedSecret(tenant?.id ?? ''), SECRETS.sharedSecret);
      const rt = await newOnly.tokens.get({ route: 'oauth', appKey: 'cid', tenantKey: '', accountId: 'acc', kind: 'refresh', scopeKey: 'read' });
      assert.equal(rt?.token, SECRETS.refreshToken);
      assert.equal(rt?.previousToken, SECRETS.previousRefreshToken);
      assert.equal((await newOnly.oauthApps.findByClientId('cid'))?.clientSecret, SECRETS.clientSecret);

      // And the old key alone no longer opens anything.
      const oldOnly = createRepositories({ store: t.store, box: createSecretBox(t.keyring), clock: t.clock });
      await assert.rejects(oldOnly.tenants.sharedSecret(tenant?.id ?? ''), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING'));

      const raw = rawBytes(t);
      for (const value of Object.values(SECRETS)) assert.ok(!raw.includes(value), 'still no plaintext after rotation');
    });

    test('every encrypted column is covered by the scan fixtures', { timeout: 180_000 }, () => {
      const covered = new Set(['tenants.shared_secret', 'oauth_apps.client_secret', 'tokens.token', 'tokens.previous_token']);
      for (const c of ENCRYPTED_COLUMNS) assert.ok(covered.has(`${c.table}.${c.column}`), `${c.table}.${c.column} needs a fixture above`);
    });
  });
}

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { isGatewayError } from '../errors.js';
import { createSecretBox, isSealed } from './secret-box.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

test('seal/open round-trips and never repeats a ciphertext', () => {
  const box = createSecretBox({ activeKeyId: 'k1', keys: new Map([['k1', k1]]) });
  const a = box.seal('shared-secret-value', 'tenants.shared_secret:t1');
  const b = box.seal('shared-secret-value', 'tenants.shared_secret:t1');
  assert.notEqual(a, b, 'a fresh nonce per seal');
  assert.ok(isSealed(a));
  assert.ok(!a.includes('shared-secret-value'));
  assert.equal(box.keyIdOf(a), 'k1');
  assert.equal(box.open(a, 'tenants.shared_secret:t1'), 'shared-secret-value');
  assert.equal(box.open(box.seal('', 'x'), 'x'), '', 'empty strings survive');
  assert.equal(box.open(box.seal('ünïcødé ✓', 'x'), 'x'), 'ünïcødé ✓');
});

test('a ciphertext moved to another row or column does not open', () => {
  const box = createSecretBox({ activeKeyId: 'k1', keys: new Map([['k1', k1]]) });
  const sealed = box.seal('s', 'tenants.shared_secret:t1');
  assert.throws(() => box.open(sealed, 'tenants.shared_secret:t2'), (e: unknown) => isGatewayError(e, 'DECRYPT_FAILED'));
  assert.throws(() => box.open(sealed, 'tokens.token:t1'), (e: unknown) => isGatewayError(e, 'DECRYPT_FAILED'));
});

test('tampering, truncation and plaintext are refused with DECRYPT_FAILED', () => {
  const box = createSecretBox({ activeKeyId: 'k1', keys: new Map([['k1', k1]]) });
  const sealed = box.seal('secret', 'c');
  const parts = sealed.split('.');
  const body = Buffer.from(parts[3] ?? '', 'base64url');
  body[0] = (body[0] ?? 0) ^ 1;
  const tampered = [...parts.slice(0, 3), body.toString('base64url')].join('.');
  for (const bad of [tampered, sealed.slice(0, 20), 'plain-secret', 'ob1.k1..']) {
    assert.throws(() => box.open(bad, 'c'), (e: unknown) => isGatewayError(e, 'DECRYPT_FAILED'), bad);
  }
});

test('old keys still open after the active key changes; a missing key is named', () => {
  const old = createSecretBox({ activeKeyId: 'k1', keys: new Map([['k1', k1]]) });
  const sealed = old.seal('secret', 'c');
  const both = createSecretBox({ activeKeyId: 'k2', keys: new Map([['k1', k1], ['k2', k2]]) });
  assert.equal(both.open(sealed, 'c'), 'secret');
  assert.equal(both.keyIdOf(both.seal('x', 'c')), 'k2');
  const onlyNew = createSecretBox({ activeKeyId: 'k2', keys: new Map([['k2', k2]]) });
  assert.throws(
    () => onlyNew.open(sealed, 'c'),
    (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.message.includes('"k1"') && !e.message.includes('secret"'),
  );
});

test('a keyring whose active key is absent or malformed is refused at construction', () => {
  assert.throws(() => createSecretBox({ activeKeyId: 'k9', keys: new Map([['k1', k1]]) }), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING'));
  assert.throws(() => createSecretBox({ activeKeyId: 'k1', keys: new Map([['k1', randomBytes(16)]]) }), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING'));
  assert.throws(() => createSecretBox({ activeKeyId: 'k.1', keys: new Map([['k.1', k1]]) }), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING'));
});

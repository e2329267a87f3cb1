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

test('only the exact secret-box format opens: each malformed form is refused before decryption, and says why', () => {
  const box = createSecretBox({ activeKeyId: 'k1', keys: new Map([['k1', k1]]) });
  const sealed = box.seal('secret', 'c');
  const [, , nonce = '', body = ''] = sealed.split('.');
  const notFormat = /not in secret-box format/;
  const truncated = /truncated/;
  const cases: Array<[string, string, RegExp]> = [
    ['a fifth part', `${sealed}.x`, notFormat],
    ['another prefix', `ob2.k1.${nonce}.${body}`, notFormat],
    ['no key id', `ob1..${nonce}.${body}`, notFormat],
    ['no nonce', `ob1.k1..${body}`, notFormat],
    ['no body', `ob1.k1.${nonce}.`, notFormat],
    ['plaintext', 'plain-secret', notFormat],
    ['a short nonce', `ob1.k1.${Buffer.alloc(11).toString('base64url')}.${body}`, truncated],
    ['a long nonce', `ob1.k1.${Buffer.alloc(13).toString('base64url')}.${body}`, truncated],
    ['a body shorter than the tag', `ob1.k1.${nonce}.${Buffer.alloc(15).toString('base64url')}`, truncated],
  ];
  for (const [name, bad, why] of cases) {
    assert.throws(() => box.open(bad, 'c'), (e: unknown) => isGatewayError(e, 'DECRYPT_FAILED') && why.test(e.message), name);
  }
  // The tag alone (an empty plaintext) is the shortest valid body.
  assert.equal(box.open(box.seal('', 'c'), 'c'), '');
});

test('a failed integrity check names the context and key, keeps the cause, and never the plaintext', () => {
  const box = createSecretBox({ activeKeyId: 'k1', keys: new Map([['k1', k1]]) });
  const sealed = box.seal('the-plaintext', 'tenants.shared_secret:t1');
  try {
    box.open(sealed, 'tenants.shared_secret:t2');
    assert.fail('expected DECRYPT_FAILED');
  } catch (e) {
    assert.ok(isGatewayError(e, 'DECRYPT_FAILED'));
    assert.deepEqual(e.details, { context: 'tenants.shared_secret:t2', keyId: 'k1' });
    assert.match(e.message, /integrity check \(tenants\.shared_secret:t2\)/);
    assert.ok(e.cause instanceof Error);
    assert.ok(!e.message.includes('the-plaintext'));
  }
  const other = createSecretBox({ activeKeyId: 'k2', keys: new Map([['k2', k2]]) });
  assert.throws(() => other.open(sealed, 'tenants.shared_secret:t1'), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.details?.['keyId'] === 'k1' && /docs\/configuration\.md/.test(e.message));
});

test('isSealed tells a sealed value from plaintext', () => {
  const box = createSecretBox({ activeKeyId: 'k1', keys: new Map([['k1', k1]]) });
  assert.equal(isSealed(box.seal('x', 'c')), true);
  for (const plain of ['', 'plain', 'ob1', 'ob1-k1', 'xob1.k1']) assert.equal(isSealed(plain), false, plain);
});

test('construction errors name the key that is wrong', () => {
  assert.throws(() => createSecretBox({ activeKeyId: 'k9', keys: new Map([['k1', k1]]) }), (e: unknown) => isGatewayError(e) && e.message.includes('"k9"'));
  assert.throws(() => createSecretBox({ activeKeyId: 'k1', keys: new Map([['k1', k1], ['k2', randomBytes(31)]]) }), (e: unknown) => isGatewayError(e) && /"k2" must be 32 bytes, got 31/.test(e.message));
  assert.throws(() => createSecretBox({ activeKeyId: 'k1', keys: new Map([['k1', k1], ['k 2', k2]]) }), (e: unknown) => isGatewayError(e) && e.message.includes('"k 2"'));
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isGatewayError } from '../errors.js';
import { keyFileLooseBits, loadKeyring, newKey, nextKeyId, readKeyFile, writeKeyFile } from './keyring.js';

const dir = () => mkdtempSync(join(tmpdir(), 'onbehalf-keys-'));

test('embedded mode generates a 0600 key file once, then reuses it', () => {
  const path = join(dir(), 'sub', 'master-key.json');
  const first = loadKeyring({ source: 'file', path, generateIfMissing: true });
  assert.equal(first.generatedFile, path);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(keyFileLooseBits(path), 0);
  assert.equal(first.keyring.activeKeyId, 'k1');
  assert.equal(first.keyring.keys.get('k1')?.length, 32);
  const second = loadKeyring({ source: 'file', path, generateIfMissing: true });
  assert.equal(second.generatedFile, undefined, 'not generated twice');
  assert.deepEqual(second.keyring.keys.get('k1'), first.keyring.keys.get('k1'));
});

test('without permission to generate, a missing key file is a clear error', () => {
  const path = join(dir(), 'master-key.json');
  assert.throws(
    () => loadKeyring({ source: 'file', path, generateIfMissing: false }),
    (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.message.includes(path) && e.message.includes('ONBEHALF_MASTER_KEYS'),
  );
});

test('inline keys: the first is active', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);
  const { keyring } = loadKeyring({ source: 'env', keys: [{ id: 'new', key: b }, { id: 'old', key: a }] });
  assert.equal(keyring.activeKeyId, 'new');
  assert.equal(keyring.keys.size, 2);
});

test('rewriting the key file keeps old keys, stays 0600 and is atomic', () => {
  const path = join(dir(), 'master-key.json');
  loadKeyring({ source: 'file', path, generateIfMissing: true });
  const file = readKeyFile(path);
  const id = nextKeyId(file);
  assert.equal(id, 'k2');
  writeKeyFile(path, { ...file, active: id, keys: [...file.keys, newKey(id, new Date())] });
  const reread = loadKeyring({ source: 'file', path, generateIfMissing: false });
  assert.equal(reread.keyring.activeKeyId, 'k2');
  assert.deepEqual([...reread.keyring.keys.keys()], ['k1', 'k2']);
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test('a malformed key file is refused with the file named', () => {
  const path = join(dir(), 'master-key.json');
  for (const text of ['not json', '{"version":1,"active":"k1","keys":[]}', JSON.stringify({ version: 1, active: 'k2', keys: [newKey('k1', new Date())] }), JSON.stringify({ version: 1, active: 'k1', keys: [{ ...newKey('k1', new Date()), key: 'c2hvcnQ=' }] })]) {
    writeFileSync(path, text);
    assert.throws(() => loadKeyring({ source: 'file', path, generateIfMissing: false }), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.message.includes(path), text);
  }
  assert.ok(readFileSync(path, 'utf8').length > 0);
});

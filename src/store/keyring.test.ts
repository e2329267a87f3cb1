import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { isGatewayError } from '../errors.js';
import { createKeyFile, generateKeyFile, keyFileLooseBits, loadKeyring, newKey, nextKeyId, readKeyFile, writeKeyFile } from './keyring.js';

const dir = () => mkdtempSync(join(tmpdir(), 'onbehalf-keys-'));

test('embedded mode generates a 0600 key file once, then reuses it', { timeout: 180_000 }, () => {
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

test('without permission to generate, a missing key file is a clear error', { timeout: 180_000 }, () => {
  const path = join(dir(), 'master-key.json');
  assert.throws(
    () => loadKeyring({ source: 'file', path, generateIfMissing: false }),
    (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.message.includes(path) && e.message.includes('ONBEHALF_MASTER_KEYS'),
  );
});

test('inline keys: the first is active', { timeout: 180_000 }, () => {
  const a = randomBytes(32);
  const b = randomBytes(32);
  const { keyring } = loadKeyring({ source: 'env', keys: [{ id: 'new', key: b }, { id: 'old', key: a }] });
  assert.equal(keyring.activeKeyId, 'new');
  assert.equal(keyring.keys.size, 2);
});

test('rewriting the key file keeps old keys, stays 0600 and is atomic', { timeout: 180_000 }, () => {
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

test('the rewritten key file is 0600 even when a stale temporary file was left readable by all', { timeout: 180_000 }, () => {
  // open(..., 0o600) alone gives 0600 under any umask when it creates the file, so only a file that
  // already exists shows whether the mode is enforced: a crash can leave the temporary file behind, and
  // a later process can get the same pid (always pid 1 in a container).
  const path = join(dir(), 'master-key.json');
  loadKeyring({ source: 'file', path, generateIfMissing: true });
  const file = readKeyFile(path);
  const stale = `${path}.${process.pid}.tmp`;
  writeFileSync(stale, 'left over by a crash');
  chmodSync(stale, 0o666);
  const previous = process.umask(0);
  try {
    writeKeyFile(path, { ...file, keys: [...file.keys, newKey('k2', new Date())] });
  } finally {
    process.umask(previous);
  }
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readKeyFile(path).keys.map((k) => k.id), ['k1', 'k2']);
});

test('first creation never overwrites a key file another instance has just written', { timeout: 180_000 }, () => {
  const path = join(dir(), 'master-key.json');
  const theirs = { version: 1 as const, active: 'k1', keys: [newKey('k1', new Date())] };
  assert.equal(createKeyFile(path, theirs), true);
  const before = readFileSync(path, 'utf8');
  assert.equal(createKeyFile(path, { version: 1, active: 'k1', keys: [newKey('k1', new Date())] }), false);
  assert.equal(readFileSync(path, 'utf8'), before, 'the first key file is untouched');
  assert.deepEqual(readdirSync(join(path, '..')), ['master-key.json'], 'no temporary file is left behind');
  assert.deepEqual(loadKeyring({ source: 'file', path, generateIfMissing: true }).keyring.keys.get('k1'), Buffer.from(theirs.keys[0]!.key, 'base64'));
});

test("an instance that loses the race to create the key file uses the winner's key", { timeout: 180_000 }, () => {
  // The moment two instances both found the file missing: the winner's file is there when the loser
  // creates, and the loser must read it rather than fail (or, worse, replace it).
  const path = join(dir(), 'master-key.json');
  const winner = generateKeyFile(path);
  assert.equal(winner.generatedFile, path);
  const loser = generateKeyFile(path);
  assert.equal(loser.generatedFile, undefined, 'the loser did not generate a key');
  assert.equal(loser.file, path);
  assert.deepEqual(loser.keyring.keys.get('k1'), winner.keyring.keys.get('k1'));
  assert.deepEqual(readdirSync(join(path, '..')), ['master-key.json']);
});

test("an instance that loses the race to an unusable key file fails with a clear error and leaves it", { timeout: 180_000 }, () => {
  const path = join(dir(), 'master-key.json');
  writeFileSync(path, '{"version":1');
  assert.throws(
    () => generateKeyFile(path),
    (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.message.includes(path) && e.message.includes('appeared while this process was creating it') && e.cause !== undefined,
  );
  assert.equal(readFileSync(path, 'utf8'), '{"version":1');
});

test('a file system that refuses hard links: creating the key file fails naming the file and the cause, and leaves nothing behind', { timeout: 180_000 }, () => {
  // No file system here refuses link() (SMB, vfat and some FUSE mounts do, with EPERM), so link() alone is
  // made to fail as they would; everything else is the real file system.
  const d = dir();
  const path = join(d, 'master-key.json');
  const realLink = fs.linkSync;
  const refused = Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM', errno: -1, syscall: 'link' });
  fs.linkSync = () => {
    throw refused;
  };
  syncBuiltinESMExports();
  try {
    assert.throws(
      () => loadKeyring({ source: 'file', path, generateIfMissing: true }),
      (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.message === `Cannot create the key file ${path}: ${refused.message}` && e.cause === refused,
    );
  } finally {
    fs.linkSync = realLink;
    syncBuiltinESMExports();
  }
  assert.deepEqual(readdirSync(d), [], 'no key file and no temporary file');
});

test('a key id that appears twice is refused, not silently replaced by the later key', { timeout: 180_000 }, () => {
  const path = join(dir(), 'master-key.json');
  const first = newKey('k1', new Date());
  const second = newKey('k1', new Date());
  writeFileSync(path, JSON.stringify({ version: 1, active: 'k1', keys: [first, second] }));
  assert.throws(
    () => loadKeyring({ source: 'file', path, generateIfMissing: false }),
    (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.message.includes('"k1" appears twice') && e.message.includes(path) && !e.message.includes(first.key) && !e.message.includes(second.key),
  );
  assert.throws(() => readKeyFile(path), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING'));
});

test('a malformed key file is refused with the file named', { timeout: 180_000 }, () => {
  const path = join(dir(), 'master-key.json');
  for (const text of ['not json', '{"version":1,"active":"k1","keys":[]}', JSON.stringify({ version: 1, active: 'k2', keys: [newKey('k1', new Date())] }), JSON.stringify({ version: 1, active: 'k1', keys: [{ ...newKey('k1', new Date()), key: 'c2hvcnQ=' }] })]) {
    writeFileSync(path, text);
    assert.throws(() => loadKeyring({ source: 'file', path, generateIfMissing: false }), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.message.includes(path), text);
  }
  assert.ok(readFileSync(path, 'utf8').length > 0);
});

test('inline keys: an empty list is refused, naming the variable', { timeout: 180_000 }, () => {
  assert.throws(() => loadKeyring({ source: 'env', keys: [] }), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.message.includes('ONBEHALF_MASTER_KEYS'));
});

test('key ids in a file are whole words of letters, digits, _ and -', { timeout: 180_000 }, () => {
  const path = join(dir(), 'master-key.json');
  for (const id of ['k.1', 'x.k1', 'k1.x', 'k 1', '', 'k'.repeat(33)]) {
    writeFileSync(path, JSON.stringify({ version: 1, active: id, keys: [newKey(id, new Date())] }));
    assert.throws(() => readKeyFile(path), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.cause !== undefined, JSON.stringify(id));
  }
  writeFileSync(path, JSON.stringify({ version: 1, active: 'K_1-x', keys: [newKey('K_1-x', new Date())] }));
  assert.equal(readKeyFile(path).active, 'K_1-x');
});

test('a key file that cannot be read is a clear error with the cause kept', { timeout: 180_000 }, () => {
  const path = join(dir(), 'a-directory');
  mkdirSync(path);
  assert.throws(() => readKeyFile(path), (e: unknown) => isGatewayError(e, 'SECRET_KEY_MISSING') && e.message.startsWith(`Cannot read the key file ${path}: `) && e.cause !== undefined);
});

test('no key is generated over a dangling link: the first creation refuses any existing path', { timeout: 180_000 }, () => {
  // A key file that should be mounted but is not there yet must not be replaced by a fresh key (the data
  // sealed under the real one would be unreadable), and the link's target must not be created.
  const d = dir();
  const path = join(d, 'master-key.json');
  symlinkSync(join(d, 'mounted', 'key.json'), path);
  assert.throws(() => loadKeyring({ source: 'file', path, generateIfMissing: true }));
  assert.equal(existsSync(join(d, 'mounted')), false);
});

test('nextKeyId skips ids already taken', { timeout: 180_000 }, () => {
  const keys = (...ids: string[]) => ({ version: 1 as const, active: ids[0] ?? 'k1', keys: ids.map((id) => newKey(id, new Date())) });
  assert.equal(nextKeyId(keys('k1')), 'k2');
  assert.equal(nextKeyId(keys('k1', 'k3')), 'k4');
  assert.equal(nextKeyId(keys('k2', 'k3', 'k4')), 'k5');
  assert.equal(nextKeyId(keys('main', 'k3')), 'k4');
});

test('writing key files does not leak file descriptors', { skip: !existsSync('/proc/self/fd') && 'no /proc/self/fd here' }, () => {
  const path = join(dir(), 'master-key.json');
  const file = { version: 1 as const, active: 'k1', keys: [newKey('k1', new Date())] };
  // Other descriptors of this process may open or close meanwhile (a file's earlier tests winding down), so
  // the count is not compared exactly: a leak of one per write would add 50, noise adds a few at most.
  const before = readdirSync('/proc/self/fd').length;
  for (let i = 0; i < 50; i++) writeKeyFile(path, file);
  const grew = readdirSync('/proc/self/fd').length - before;
  assert.ok(grew < 10, `${grew} more open descriptors after 50 writes`);
});

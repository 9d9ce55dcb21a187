/**
 * The files that hold sign-in state (the stored sign-in, its status, the
 * secret key): written whole or not at all, and no temporary file is left
 * behind when a write fails.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptionKey, SECRET_KEY_FILE, writeFileAtomic } from '../../src/identity/entra/secret-key.js';
import { tempDir } from './entra-fixtures.js';

describe('sign-in files', () => {
  test('an atomic write that fails leaves the old file and no temporary file', () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'tokens', 'm365.json');
      writeFileAtomic(file, 'first\n');
      assert.equal(readFileSync(file, 'utf8'), 'first\n');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      // A directory where the file should go: the rename fails.
      const blocked = join(dir, 'tokens', 'blocked.json');
      mkdirSync(join(blocked, 'inside'), { recursive: true });
      assert.throws(() => writeFileAtomic(blocked, 'secret sign-in\n'));
      assert.deepEqual(readdirSync(join(dir, 'tokens')).sort(), ['blocked.json', 'm365.json'], 'no temporary file is left');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the secret key is created once, whole, mode 0600, and read back the same', () => {
    const dir = tempDir();
    try {
      const a = encryptionKey(dir, undefined);
      const b = encryptionKey(dir, undefined);
      assert.ok(a.equals(b));
      const file = join(dir, SECRET_KEY_FILE);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').length, 32);
      assert.deepEqual(readdirSync(dir), [SECRET_KEY_FILE], 'no temporary file is left');
      assert.ok(!encryptionKey(dir, 'from the config').equals(a), 'secretKey from the config wins over the file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a key file someone else wrote first is used, not replaced', () => {
    const dir = tempDir();
    try {
      const key = Buffer.alloc(32, 7).toString('base64');
      writeFileSync(join(dir, SECRET_KEY_FILE), `${key}\n`, { mode: 0o600 });
      const before = readFileSync(join(dir, SECRET_KEY_FILE), 'utf8');
      encryptionKey(dir, undefined);
      assert.equal(readFileSync(join(dir, SECRET_KEY_FILE), 'utf8'), before);
      assert.deepEqual(readdirSync(dir), [SECRET_KEY_FILE]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

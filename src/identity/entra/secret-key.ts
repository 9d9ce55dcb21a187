/**
 * The key that encrypts stored sign-ins at rest. The key comes from `secretKey` in the config when set;
 * otherwise a random 32-byte key is created once in dataDir/secret.key (mode
 * 0600) and read from there afterwards. Either way the AES-256 key is derived
 * with HKDF-SHA-256, so a passphrase-like `secretKey` is fine too.
 */
import { randomBytes, hkdfSync } from 'node:crypto';
import { mkdirSync, readFileSync, linkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { syncDir, writeTemporary } from '../../core/files.js';

export { writeFileAtomic } from '../../core/files.js';

export const SECRET_KEY_FILE = 'secret.key';

export function encryptionKey(dataDir: string, secretKey: string | undefined): Buffer {
  const material = secretKey !== undefined && secretKey !== '' ? Buffer.from(secretKey, 'utf8') : keyFileMaterial(dataDir);
  return Buffer.from(hkdfSync('sha256', material, Buffer.from('authrelay'), Buffer.from('stored sign-in v1'), 32));
}

function keyFileMaterial(dataDir: string): Buffer {
  const file = join(dataDir, SECRET_KEY_FILE);
  mkdirSync(dataDir, { recursive: true });
  // Written whole under a temporary name, then linked into place (which fails when the key
  // exists): another process never reads a key file that is still empty or half written.
  const tmp = writeTemporary(file, `${randomBytes(32).toString('base64')}\n`);
  try {
    linkSync(tmp, file);
    syncDir(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  const text = readFileSync(file, 'utf8').trim();
  const key = Buffer.from(text, 'base64');
  if (key.length < 32) throw new Error(`${file} does not hold a 32-byte key (base64); remove it only if no sign-in is stored`);
  return key;
}

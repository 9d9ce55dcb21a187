/**
 * The key that encrypts stored sign-ins at rest, and the small file helpers
 * the store needs. The key comes from `secretKey` in the config when set;
 * otherwise a random 32-byte key is created once in dataDir/secret.key (mode
 * 0600) and read from there afterwards. Either way the AES-256 key is derived
 * with HKDF-SHA-256, so a passphrase-like `secretKey` is fine too.
 */
import { randomBytes, hkdfSync } from 'node:crypto';
import { mkdirSync, openSync, writeSync, fsyncSync, closeSync, readFileSync, renameSync, chmodSync, linkSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

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

/** Writes a file atomically: temporary file (0600), fsync, rename, directory fsync. A failed write leaves no temporary file. */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = writeTemporary(file, data);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(dir);
}

/** `data` in a new file (0600, fsynced) beside `file`; its name is returned. Removed again when writing fails. */
function writeTemporary(file: string, data: string | Buffer): string {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // The mode given to open is masked by the umask.
    chmodSync(tmp, 0o600);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return tmp;
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

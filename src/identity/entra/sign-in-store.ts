/**
 * A delegated sign-in kept on disk, encrypted: MSAL's token cache for one
 * upstream (it holds the account, the refresh token and the access token)
 * serialised and sealed with AES-256-GCM in dataDir/tokens/<upstream>.json
 * (mode 0600, written atomically with fsync). The upstream name is bound in
 * as additional data, so a file copied to another upstream does not open.
 *
 * It is MSAL's cache plugin: MSAL reads the file before each cache access
 * and it is rewritten whenever the cache changed, so every rotated refresh
 * token is stored as soon as Entra hands it out.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';
import { writeFileAtomic } from './secret-key.js';

interface SealedFile {
  format: 'authrelay-sign-in';
  version: 1;
  upstream: string;
  /** The signed-in user, in clear for `oauth status` listings (it is not a secret). */
  user?: string;
  savedAt: string;
  cipher: 'aes-256-gcm';
  iv: string;
  tag: string;
  data: string;
}

export function signInFile(dataDir: string, upstream: string): string {
  return join(dataDir, 'tokens', `${upstream.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

export class SignInStore implements ICachePlugin {
  readonly file: string;

  constructor(
    dataDir: string,
    private readonly upstream: string,
    private readonly key: Buffer,
    private readonly userOf: () => string | undefined = () => undefined,
  ) {
    this.file = signInFile(dataDir, upstream);
  }

  exists(): boolean {
    return existsSync(this.file);
  }

  /** The decrypted MSAL cache JSON, or undefined when nothing is stored. Throws when the file cannot be opened. */
  read(): string | undefined {
    let raw: string;
    try {
      raw = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const sealed = JSON.parse(raw) as SealedFile;
    if (sealed.format !== 'authrelay-sign-in' || sealed.cipher !== 'aes-256-gcm') throw new Error(`${this.file} is not a stored sign-in`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(`authrelay sign-in:${this.upstream}`));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`${this.file} cannot be decrypted: the secret key changed (secretKey or dataDir/secret.key) or the file was altered; sign in again`);
    }
  }

  write(plain: string): void {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`authrelay sign-in:${this.upstream}`));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const user = this.userOf();
    const sealed: SealedFile = {
      format: 'authrelay-sign-in',
      version: 1,
      upstream: this.upstream,
      ...(user ? { user } : {}),
      savedAt: new Date().toISOString(),
      cipher: 'aes-256-gcm',
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
    writeFileAtomic(this.file, `${JSON.stringify(sealed, null, 2)}\n`);
  }

  remove(): void {
    rmSync(this.file, { force: true });
  }

  async beforeCacheAccess(ctx: TokenCacheContext): Promise<void> {
    const plain = this.read();
    if (plain !== undefined) ctx.tokenCache.deserialize(plain);
  }

  async afterCacheAccess(ctx: TokenCacheContext): Promise<void> {
    if (ctx.cacheHasChanged) this.write(ctx.tokenCache.serialize());
  }
}

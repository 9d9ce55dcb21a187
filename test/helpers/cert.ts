/**
 * One self-signed certificate per test process, made by the relay's own
 * ensureCertificate, so that each startTestRelay does not generate an RSA
 * key (about 0.3-1 s each). Pass it as the relay's `tls` config.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificate } from '../../src/receive/tls.js';
import { createLogger } from '../../src/core/log.js';
import { Writable } from 'node:stream';

let shared: Promise<{ cert: string; key: string }> | undefined;

export function sharedCertificate(): Promise<{ cert: string; key: string }> {
  shared ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authrelay-cert-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const quiet = createLogger('fatal', new Writable({ write: (_c, _e, cb) => cb() }));
    const pair = await ensureCertificate({}, dir, 'relay.test', quiet);
    return { cert: pair.source, key: pair.source.replace(/\.crt$/, '.key') };
  })();
  return shared;
}

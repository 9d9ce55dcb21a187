/**
 * An old device's TLS: Python smtplib with a context pinned to one TLS version
 * (1.0 and 1.1 need OpenSSL's @SECLEVEL=0 on the client too, for SHA-1
 * signatures), STARTTLS or TLS from the first byte, from a chosen loopback
 * source address; it sends one message when the handshake works.
 */
import assert from 'node:assert/strict';
import { python } from './tools.js';

// Python smtplib with a context pinned to one old TLS version. OpenSSL 3 needs
// @SECLEVEL=0 on the client too for TLS 1.0/1.1 (SHA-1 signatures).
const PY_OLD_TLS = `
import smtplib, ssl, sys, json
port, mode, ver, src, ciphers = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_ciphers(ciphers)
v = {'1.0': ssl.TLSVersion.TLSv1, '1.1': ssl.TLSVersion.TLSv1_1, '1.2': ssl.TLSVersion.TLSv1_2}[ver]
ctx.minimum_version = v
ctx.maximum_version = v
out = {'ok': False}
try:
    if mode == 'implicit':
        s = smtplib.SMTP_SSL('127.0.0.1', port, context=ctx, timeout=10, source_address=(src, 0))
    else:
        s = smtplib.SMTP('127.0.0.1', port, timeout=10, source_address=(src, 0))
        s.ehlo('old-xerox')
        out['starttls'] = s.starttls(context=ctx)[0]
    out['version'] = s.sock.version()
    out['cipher'] = s.sock.cipher()[0]
    s.ehlo('old-xerox')
    out['mail'] = s.mail('scanner@printer.local')[0]
    out['rcpt'] = s.rcpt('user@example.com')[0]
    code, resp = s.data(b'From: scanner@printer.local\\r\\nTo: user@example.com\\r\\nSubject: tls ' + ver.encode() + b'\\r\\n\\r\\nscan\\r\\n')
    out['data'] = [code, resp.decode()]
    s.quit()
    out['ok'] = True
except Exception as e:
    out['error'] = type(e).__name__ + ': ' + str(e)
print(json.dumps(out))
`;

export interface PyResult {
  ok: boolean;
  version?: string;
  cipher?: string;
  starttls?: number;
  data?: [number, string];
  error?: string;
}

export async function oldTlsClient(
  port: number, mode: 'starttls' | 'implicit', ver: '1.0' | '1.1' | '1.2', src = '127.0.0.1', ciphers = 'DEFAULT:@SECLEVEL=0',
): Promise<PyResult> {
  const r = await python(PY_OLD_TLS, [String(port), mode, ver, src, ciphers]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as PyResult;
}

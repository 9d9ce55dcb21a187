/**
 * Real legacy clients: Python's imaplib and poplib with an ssl context
 * pinned to one TLS version (1.0 with OpenSSL's @SECLEVEL=0, as an old
 * program's TLS stack would be; or 1.3), verifying the proxy's certificate.
 * The IMAP session prints IDLING when its IDLE has begun, so the test can
 * deliver a message then; the last line is the session's JSON result.
 */
import { spawn } from 'node:child_process';

const PY_TLS = `
import ssl
def context(ver, ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=ca)
    if ver == '1.0':
        ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    elif ver == '1.3':
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx
`;

const PY_IMAP = `${PY_TLS}
import imaplib, sys, json, hashlib
port, mode, ver, ca, user, pw, big = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
out = {'ok': False}
try:
    ctx = context(ver, ca)
    if mode == 'implicit':
        M = imaplib.IMAP4_SSL('127.0.0.1', port, ssl_context=ctx, timeout=120)
    else:
        M = imaplib.IMAP4('127.0.0.1', port, timeout=120)
        out['caps_plain'] = list(M.capabilities)
        M.starttls(ssl_context=ctx)
    out['version'] = M.sock.version()
    out['caps'] = list(M.capabilities)
    typ, data = M.login(user, pw)
    out['login'] = [typ, data[0].decode()]
    typ, data = M.capability()
    out['caps_after'] = data[0].decode()
    typ, data = M.list()
    out['list'] = [d.decode() for d in data]
    typ, data = M.select('INBOX')
    out['exists'] = int(data[0])
    typ, data = M.fetch(big, '(BODY.PEEK[])')
    body = data[0][1]
    out['size'] = len(body)
    out['sha256'] = hashlib.sha256(body).hexdigest()
    del body, data
    tag = M._new_tag()
    M.send(tag + b' IDLE\\r\\n')
    out['idle_start'] = M.readline().decode().strip()
    print('IDLING', flush=True)
    while True:
        line = M.readline()
        if not line:
            raise Exception('closed during IDLE')
        if b'EXISTS' in line:
            out['idle_event'] = line.decode().strip()
            break
    M.send(b'DONE\\r\\n')
    while True:
        line = M.readline()
        if line.startswith(tag):
            out['idle_end'] = line.decode().strip()
            break
    n = out['idle_event'].split()[1]
    typ, data = M.store(n, '+FLAGS', '\\\\Deleted')
    out['store'] = [typ, [d.decode() for d in data if d]]
    typ, data = M.expunge()
    out['expunge'] = [typ, [d.decode() for d in data if d]]
    typ, data = M.select('INBOX')
    out['exists_after'] = int(data[0])
    typ, data = M.logout()
    out['logout'] = typ
    out['ok'] = True
except Exception as e:
    out['error'] = type(e).__name__ + ': ' + str(e)
print(json.dumps(out), flush=True)
`;

const PY_POP3 = `${PY_TLS}
import poplib, sys, json, hashlib
port, mode, ver, ca, user, pw, big, small = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8]
out = {'ok': False}
try:
    ctx = context(ver, ca)
    if mode == 'implicit':
        M = poplib.POP3_SSL('127.0.0.1', port, context=ctx, timeout=120)
    else:
        M = poplib.POP3('127.0.0.1', port, timeout=120)
        out['capa_plain'] = sorted(M.capa().keys())
        M.stls(context=ctx)
    out['version'] = M.sock.version()
    out['capa'] = sorted(M.capa().keys())
    out['user'] = M.user(user).decode()
    out['pass'] = M.pass_(pw).decode()
    out['capa_after'] = sorted(M.capa().keys())
    out['stat'] = list(M.stat())
    resp, listing, _ = M.list()
    out['list'] = [l.decode() for l in listing]
    resp, lines, octets = M.retr(int(big))
    body = b'\\r\\n'.join(lines) + b'\\r\\n'
    out['size'] = len(body)
    out['sha256'] = hashlib.sha256(body).hexdigest()
    del body, lines
    out['dele'] = M.dele(int(small)).decode()
    out['quit'] = M.quit().decode()
    out['ok'] = True
except Exception as e:
    out['error'] = type(e).__name__ + ': ' + str(e)
print(json.dumps(out), flush=True)
`;

export interface SessionArgs {
  port: number;
  mode: 'implicit' | 'starttls';
  tls: '1.0' | '1.3' | 'default';
  ca: string;
  user: string;
  password: string;
}

/** Runs a Python script; onLine sees every stdout line as it comes; resolves with the last line parsed as JSON. */
function runPython<T>(script: string, args: string[], onLine: (line: string) => void = () => undefined, timeoutMs = 180_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => {
      out += c;
      partial += c;
      let i;
      while ((i = partial.indexOf('\n')) >= 0) {
        onLine(partial.slice(0, i));
        partial = partial.slice(i + 1);
      }
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`python exited ${code}: ${out}\n${err}`));
      }
    });
  });
}

export interface ImapSessionResult {
  ok: boolean;
  error?: string;
  version?: string;
  caps_plain?: string[];
  caps?: string[];
  login?: [string, string];
  caps_after?: string;
  list?: string[];
  exists?: number;
  size?: number;
  sha256?: string;
  idle_start?: string;
  idle_event?: string;
  idle_end?: string;
  store?: [string, string[]];
  expunge?: [string, string[]];
  exists_after?: number;
  logout?: string;
}

/** The full IMAP session of the issue: login, LIST, SELECT, FETCH message `big`, IDLE (onIdle delivers), STORE/EXPUNGE of the new one, LOGOUT. */
export function pythonImapSession(a: SessionArgs, big: number, onIdle: () => void): Promise<ImapSessionResult> {
  return runPython(PY_IMAP, [String(a.port), a.mode, a.tls, a.ca, a.user, a.password, String(big)], (l) => {
    if (l === 'IDLING') onIdle();
  });
}

export interface Pop3SessionResult {
  ok: boolean;
  error?: string;
  version?: string;
  capa_plain?: string[];
  capa?: string[];
  user?: string;
  pass?: string;
  capa_after?: string[];
  stat?: [number, number];
  list?: string[];
  size?: number;
  sha256?: string;
  dele?: string;
  quit?: string;
}

/** STAT, LIST, RETR message `big`, DELE message `small`, QUIT. */
export function pythonPop3Session(a: SessionArgs, big: number, small: number): Promise<Pop3SessionResult> {
  return runPython(PY_POP3, [String(a.port), a.mode, a.tls, a.ca, a.user, a.password, String(big), String(small)]);
}

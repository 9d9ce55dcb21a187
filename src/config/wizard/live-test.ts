/**
 * "Test the credentials live" for `authrelay init`, with the validated
 * config: for graph and smtp-oauth an app token is requested from Entra ID
 * (TokenProviders, as the relay does) and the permissions in its `roles`
 * claim are compared with what the route needs; a refusal is explained with
 * the error catalogue's text and fix. For Direct Send the domain's MX host
 * is looked up; for another relay its greeting is read. No message is sent.
 */
import { connect } from 'node:net';
import type { Config, EntraUpstreamConfig } from '../../config/schema.js';
import { createLogger } from '../../core/log.js';
import type { InitAnswers } from './answers.js';
import { UPSTREAM_NAME } from './config-document.js';
import { neededPermissions } from './steps.js';

export interface LiveResult {
  ok: boolean;
  /** False when nothing could be tested (e.g. a delegated route before its sign-in). */
  tested: boolean;
}

type Say = (line?: string) => void;

export async function liveTest(a: InitAnswers, config: Config, say: Say): Promise<LiveResult> {
  const name = UPSTREAM_NAME[a.route];
  const upstream = name ? config.upstreams[name] : undefined;
  if (!upstream || !name) return { ok: true, tested: false };
  if (upstream.type === 'graph' || (upstream.type === 'smtp-oauth' && !upstream.delegated)) return tokenTest(a, name, upstream, say);
  if (upstream.type === 'smtp-oauth') {
    say(`A delegated route is tested after the sign-in: run \`authrelay oauth login ${name}\`, then \`authrelay send-test --route ${name} --to <address>\`.`);
    return { ok: true, tested: false };
  }
  if (upstream.type === 'direct-send') return mxTest(upstream.domain, upstream.dnsServers, say);
  if (upstream.type === 'smtp' && upstream.tls === 'implicit') {
    say(`Test the relay with \`authrelay send-test --route ${name} --to <address>\` (TLS from the first byte is not tried here).`);
    return { ok: true, tested: false };
  }
  if (upstream.type === 'smtp') return greetingTest(upstream.host, upstream.port, say);
  return { ok: true, tested: false };
}

async function tokenTest(a: InitAnswers, name: string, cfg: EntraUpstreamConfig, say: Say): Promise<LiveResult> {
  const resource = cfg.type === 'graph' ? 'graph' : 'smtp';
  const [{ TokenProviders }, { TokenError }, { explainTokenError }] = await Promise.all([
    import('../../identity/entra/providers.js'),
    import('../../identity/entra/token-provider.js'),
    import('../../deliver/microsoft/catalogue.js'),
  ]);
  const providers = new TokenProviders({ dataDir: '', secretKey: undefined, log: createLogger('silent'), recordStatus: false, signInRenewalMs: 0 });
  try {
    const provider = providers.get(name, cfg, resource);
    say(`Requesting a token: ${provider.description} ...`);
    const token = await provider.getToken(AbortSignal.timeout(60_000));
    say(`  Signed in. The token is valid until ${new Date(token.expiresAt).toISOString()}.`);
    say(`  Permissions in the token (roles): ${token.permissions.length ? token.permissions.join(', ') : '(none)'}`);
    const need = neededPermissions(a.route);
    const has = new Set(token.permissions.map((r) => r.toLowerCase()));
    for (const r of need.required) {
      say(has.has(r.toLowerCase())
        ? `  ✓ ${r}: granted`
        : `  ✗ ${r}: not in the token. Grant it with admin consent (steps above), unless RBAC for Applications in Exchange Online gives it for the chosen mailboxes (such grants do not show in the token).`);
    }
    for (const o of need.optional) say(has.has(o.name.toLowerCase()) ? `  ✓ ${o.name}: granted` : `  - ${o.name}: not granted; ${o.why}`);
    return { ok: true, tested: true };
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    const e = explainTokenError(err, { appId: cfg.clientId, tenant: cfg.tenant, upstream: name, mailbox: a.mailbox });
    say(`  Entra ID refused: ${e.response ?? err.message}`);
    if (e.hint) say(`  What it means: ${e.hint}`);
    if (e.fix) say(`  How to fix it: ${e.fix}`);
    if (e.ref) say(`  Reference: ${e.ref} (docs/errors.md)`);
    return { ok: false, tested: true };
  } finally {
    providers.close();
  }
}

async function mxTest(domain: string, dnsServers: string[] | undefined, say: Say): Promise<LiveResult> {
  const [{ MxLookup, isMicrosoftMx }, { directSendWarnings, foreignMxWarning }] = await Promise.all([
    import('../../deliver/direct-send/mx.js'),
    import('../../deliver/direct-send/warnings.js'),
  ]);
  say(`Looking up the MX host of ${domain} ...`);
  try {
    const target = await new MxLookup({ domain, ...(dnsServers?.length ? { dnsServers } : {}) }).resolve();
    say(`  MX host: ${target.host} (${target.address})`);
    say(isMicrosoftMx(target.host) ? '  ✓ a Microsoft 365 host: Direct Send goes there on port 25.' : `  ! ${foreignMxWarning(domain, target.host)}`);
    for (const w of directSendWarnings({ domain, requireTls: false })) say(`  - ${w}`);
    return { ok: true, tested: true };
  } catch (err) {
    const code = (err as { code?: string }).code;
    say(`  The MX lookup failed (${code ?? (err as Error).message}): check the domain's spelling and that it is one of your Microsoft 365 domains.`);
    return { ok: false, tested: true };
  }
}

function greetingTest(host: string, port: number, say: Say): Promise<LiveResult> {
  say(`Connecting to ${host}:${port} ...`);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(15_000);
    let text = '';
    const finish = (ok: boolean, line: string) => {
      say(`  ${line}`);
      socket.destroy();
      resolve({ ok, tested: true });
    };
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      const first = text.split('\r\n')[0] ?? '';
      if (text.includes('\n')) {
        socket.write('QUIT\r\n');
        finish(first.startsWith('220'), first.startsWith('220') ? `✓ the relay greets: ${first}` : `✗ the relay answered: ${first}`);
      }
    });
    socket.on('timeout', () => finish(false, '✗ no greeting within 15 seconds'));
    socket.on('error', (err: NodeJS.ErrnoException) => finish(false, `✗ cannot connect (${err.code ?? err.message}); check the host, the port and the firewall (outbound port 25 is often blocked)`));
  });
}

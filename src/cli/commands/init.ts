/**
 * `authrelay init`: the setup wizard for the terminal (works over SSH).
 * It asks which route to take, the app registration and its credential, the
 * sending mailbox, the listeners, a first device and the notices address;
 * prints the steps to take in Entra ID and Exchange Online; for another SMTP
 * relay probes it and proposes the TLS mode that works (asking before a
 * downgrade to none); tests the credentials live; and writes a commented
 * config file that has been validated first, never one whose live test
 * failed unless told to (--force, or "write anyway" when asked). `--yes`
 * takes every answer from flags (unattended). Route `readers` sets up
 * legacy IMAP/POP3 readers instead (docs/imap-pop.md): the mailboxes, the
 * IMAP/POP3 listeners, the reader device, the Exchange steps for app-only
 * access and a live XOAUTH2 login to each mailbox.
 */
import type { Lang } from '../../core/i18n.js';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { hashPassword } from '../../identity/password.js';
import { ConfigError } from '../../config/load.js';
import { askCredential, gatherAnswers, type InitAnswers, type InitFlags } from '../init/answers.js';
import { buildDocument, FileExistsError, refuseOverwrite, UPSTREAM_NAME, validateDocument, writeFiles } from '../../config/wizard/config-document.js';
import { liveTest } from '../../config/wizard/live-test.js';
import { Prompter } from '../init/prompter.js';
import { askRelayAgain, probeRelay } from '../init/relay-probe.js';
import type { SmtpProbe } from '../../config/wizard/smtp-probe.js';
import { setupSteps } from '../../config/wizard/steps.js';
import { cliLang, complain, describeError, tr } from '../common.js';
import { INIT_TEXT as T } from '../init/texts.js';

export type { InitFlags } from '../init/answers.js';

export const INIT_USAGE = `usage: authrelay init [--out FILE] [--force]          interactive setup wizard
       authrelay init --yes --route ROUTE [flags]        unattended

routes: graph, smtp-oauth, smtp-oauth-delegated, direct-send, smtp, hold, readers
flags:  --tenant ID --client-id ID --mailbox ADDR --cloud global|usgov|usgov-dod|china
        --client-secret-env NAME | --client-secret-file PATH | --cert-file PEM --key-file PEM
        --domain DOMAIN [--dns-server HOST[:PORT]]...       (direct-send)
        --relay-host HOST[:PORT] [--ca PEM] [--cert-file PEM --key-file PEM] [--allow-no-tls]   (smtp)
        --mailbox ADDR... --imap-port N|no --pop3-port N|no --reader-tls implicit|starttls [--reader-legacy-tls]   (readers)
        --listen-host ADDR --starttls-port N --tls-port N|no --legacy-tls-port N|no
        --device NAME [--network CIDR]... [--username USER] --admin ADDR --skip-test
        --authority-host URL --graph-url URL --smtp-endpoint HOST:PORT --ca PEM
        --imap-endpoint HOST:PORT --pop3-endpoint HOST:PORT
                                  (private clouds and tests: where to sign in and send, extra CA)
        --force         write anyway: replace an existing file, and write although the live test failed
        --allow-no-tls  accept tls: none for a relay that offers no TLS (asked when not given; --yes refuses without it)
`;

/** The usage text in the reader's language: the command lines stay as they are, the lead word and notes are translated. */
export function initUsage(lang: Lang): string {
  if (lang === 'en') return INIT_USAGE;
  return INIT_USAGE
    .replace(/^usage: /, '使い方: ')
    .replace('interactive setup wizard', '対話式のセットアップ ウィザード')
    .replace('        unattended', '        質問なしで実行')
    .replace('(private clouds and tests: where to sign in and send, extra CA)', '(プライベート クラウドとテスト用: サインイン先と送信先、追加の CA)')
    .replace('write anyway: replace an existing file, and write although the live test failed', '既存のファイルを置き換え、接続テストが失敗しても書き込みます')
    .replace('accept tls: none for a relay that offers no TLS (asked when not given; --yes refuses without it)', 'TLS を提供しない中継先に tls: none を許可します (指定がなければ確認します。--yes では指定がないと拒否します)');
}

export async function initCommand(flags: InitFlags): Promise<number> {
  const file = resolve(flags.out ?? 'authrelay.yaml');
  const baseDir = dirname(file);
  try {
    refuseOverwrite(file, flags.force);
  } catch (err) {
    if (err instanceof FileExistsError) {
      process.stderr.write(`authrelay: ${describeError(err)}\n`);
      return 1;
    }
    throw err;
  }
  const p = new Prompter(flags.yes === true, process.stdin, process.stdout);
  try {
    return await run(p, flags, file, baseDir);
  } finally {
    p.close();
  }
}

async function run(p: Prompter, flags: InitFlags, file: string, baseDir: string): Promise<number> {
  if (!p.unattended) {
    p.say(tr(T.intro, { file }));
  }
  const answers = await gatherAnswers(p, flags, baseDir);
  p.say(tr(T.stepsHeading));
  setupSteps(answers, cliLang()).forEach((s, i) => p.say(`  ${i + 1}. ${s}`));
  p.say();

  const password = answers.device?.username ? generatePassword() : undefined;
  const passwordHash = password ? await hashPassword(password) : undefined;
  let probe: SmtpProbe | undefined;
  for (;;) {
    const relay = answers.relay;
    if (relay && !flags['skip-test'] && (probe?.host !== relay.host || probe?.port !== relay.port)) {
      const chosen = await probeRelay(p, flags, answers, baseDir);
      if ('exit' in chosen) return chosen.exit;
      probe = chosen.probe;
    }
    const doc = buildDocument(answers, passwordHash, new Date(), cliLang());
    let config;
    try {
      config = validateDocument(doc, answers, baseDir);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`authrelay: ${tr(T.notValid)}${err.problemsIn(cliLang()).map((x) => `\n  - ${x}`).join('')}\n`);
      return 1;
    }
    const result = flags['skip-test'] ? { ok: true, tested: false } : await liveTest(answers, config, (l = '') => p.say(l), { probe, lang: cliLang() });
    if (!result.ok && flags.force) {
      p.say(tr(T.forced));
    } else if (!result.ok) {
      if (p.unattended) {
        complain(T.unattendedFailed);
        return 1;
      }
      const next = await p.choose(tr(T.testFailedWhatNow), [
        ...(answers.readers ? [{ value: 'again' as const, label: tr(T.testAgain) }] : []),
        { value: 'back', label: tr(answers.entra ? T.againEntra : answers.relay ? T.againRelay : T.againAnswer) },
        { value: 'write', label: tr(answers.relay ? T.writeAnywayRelay : T.writeAnywayM365) },
        { value: 'quit', label: tr(T.quit) },
      ], { default: answers.readers ? 'again' : 'back' });
      if (next === 'quit') {
        p.say(tr(T.nothingWritten));
        return 1;
      }
      if (next === 'again') continue;
      if (next === 'back') {
        await askAgain(p, answers, baseDir);
        // Look at the relay again, even at the same address (it may have been fixed meanwhile).
        probe = undefined;
        continue;
      }
    }
    try {
      const written = writeFiles(file, doc, answers, flags.force);
      summary(p, answers, written, password, file);
      return 0;
    } catch (err) {
      if (!(err instanceof FileExistsError)) throw err;
      process.stderr.write(`authrelay: ${describeError(err)}\n`);
      return 1;
    }
  }
}

/** After a failed test: the answers the test depends on, with the current ones as defaults. */
async function askAgain(p: Prompter, a: InitAnswers, baseDir: string): Promise<void> {
  if (a.entra) {
    a.entra.tenant = await p.ask({ label: tr(T.askTenantAgain), default: a.entra.tenant });
    a.entra.clientId = await p.ask({ label: tr(T.askClientIdAgain), default: a.entra.clientId });
    if (a.entra.credential.kind !== 'delegated') a.entra.credential = await askCredential(p, {}, baseDir);
  } else if (a.directSend) {
    a.directSend.domain = await p.ask({ label: tr(T.askDomain), default: a.directSend.domain });
  } else if (a.relay) {
    await askRelayAgain(p, a.relay);
  }
}

/** Printable ASCII without look-alikes, 16 characters (what `authrelay device add --generate-password` makes). */
function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return [...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join('');
}

function summary(p: Prompter, a: InitAnswers, written: string[], password: string | undefined, file: string): void {
  const upstream = UPSTREAM_NAME[a.route];
  const secret = a.entra?.credential.kind === 'secret' ? a.entra.credential : undefined;
  p.say(tr(T.wrote, { files: written.join(tr(T.and)) }));
  if (secret?.envName) p.say(tr(T.setSecretEnv, { env: secret.envName }));
  if (secret?.writeFile) p.say(tr(T.secretInFile, { file: secret.writeFile }));
  if (a.device) {
    const d = a.device;
    const how = [d.networks.length ? tr(T.trustedFrom, { networks: d.networks.join(', ') }) : '', d.username ? tr(T.userName, { user: d.username }) : ''].filter(Boolean);
    p.say(tr(T.deviceSummary, { name: d.name, how: how.join(cliLang() === 'ja' ? '、' : '; ') }));
    if (password) p.say(tr(T.devicePassword, { password }));
    if (a.readers) readerSummary(p, a, a.readers);
    const l = a.listeners;
    if (!a.readers) p.say(tr(T.deviceSettings, {
      port: l.starttlsPort,
      tls: l.tlsPort !== undefined ? tr(T.deviceSettingsTls, { port: l.tlsPort }) : '',
      legacy: l.legacyPort !== undefined ? tr(T.deviceSettingsLegacy, { port: l.legacyPort }) : '',
    }));
  }
  p.say(tr(T.next));
  p.say(`  authrelay config check --config ${file}`);
  if (a.route === 'smtp-oauth-delegated') p.say(`  authrelay oauth login ${upstream} --config ${file}`);
  if (a.readers) p.say(`  authrelay doctor --config ${file}`);
  else if (upstream) p.say(`  authrelay send-test --route ${upstream} --to ${tr(T.yourAddress)} --config ${file}`);
  p.say(`  authrelay serve --config ${file}`);
}

/** What the reading program is given: the mailboxes it may open, the ports, the user name. */
function readerSummary(p: Prompter, a: InitAnswers, r: NonNullable<InitAnswers['readers']>): void {
  const d = a.device!;
  p.say(tr(T.readerMailboxes, { mailboxes: r.mailboxes.join(', ') }));
  const ports = [
    r.imapPort !== undefined ? tr(T.readerSettingsImap, { port: r.imapPort }) : '',
    r.pop3Port !== undefined ? tr(T.readerSettingsPop3, { port: r.pop3Port }) : '',
  ].join('');
  const user = !d.username ? tr(T.readerSettingsTrusted, { networks: d.networks.join(', ') })
    : r.mailboxes.length > 1 ? tr(T.readerSettingsMailbox) : tr(T.readerSettingsUser, { user: d.username });
  p.say(tr(T.readerSettings, { ports, tls: `${r.tls === 'implicit' ? 'SSL/TLS' : 'STARTTLS'}${r.legacy ? ' (TLS 1.0+)' : ''}`, user }));
}

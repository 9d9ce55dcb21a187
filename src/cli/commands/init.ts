/**
 * `authrelay init`: the setup wizard for the terminal (works over SSH).
 * It asks which route to take, the app registration and its credential, the
 * sending mailbox, the listeners, a first device and the notices address;
 * prints the steps to take in Entra ID and Exchange Online; for another SMTP
 * relay probes it and proposes the TLS mode that works (asking before a
 * downgrade to none); tests the credentials live; and writes a commented
 * config file that has been validated first, never one whose live test
 * failed unless told to (--force, or "write anyway" when asked). `--yes`
 * takes every answer from flags (unattended).
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

export type { InitFlags } from '../init/answers.js';

export const INIT_USAGE = `usage: authrelay init [--out FILE] [--force]          interactive setup wizard
       authrelay init --yes --route ROUTE [flags]        unattended

routes: graph, smtp-oauth, smtp-oauth-delegated, direct-send, smtp, hold
flags:  --tenant ID --client-id ID --mailbox ADDR --cloud global|usgov|usgov-dod|china
        --client-secret-env NAME | --client-secret-file PATH | --cert-file PEM --key-file PEM
        --domain DOMAIN [--dns-server HOST[:PORT]]...       (direct-send)
        --relay-host HOST[:PORT] [--ca PEM] [--cert-file PEM --key-file PEM] [--allow-no-tls]   (smtp)
        --listen-host ADDR --starttls-port N --tls-port N|no --legacy-tls-port N|no
        --device NAME [--network CIDR]... [--username USER] --admin ADDR --skip-test
        --authority-host URL --graph-url URL --smtp-endpoint HOST:PORT --ca PEM
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
      process.stderr.write(`authrelay: ${err.message}\n`);
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
    p.say(`authrelay setup: answer each question (Enter takes the value in [brackets]). The config is written to ${file} at the end.\n`);
  }
  const answers = await gatherAnswers(p, flags, baseDir);
  p.say('\nWhat to set up in Microsoft 365 for this route:');
  setupSteps(answers).forEach((s, i) => p.say(`  ${i + 1}. ${s}`));
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
    const doc = buildDocument(answers, passwordHash, new Date());
    let config;
    try {
      config = validateDocument(doc, answers, baseDir);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`authrelay: the answers do not make a valid configuration; nothing was written:${err.problems.map((x) => `\n  - ${x}`).join('')}\n`);
      return 1;
    }
    const result = flags['skip-test'] ? { ok: true, tested: false } : await liveTest(answers, config, (l = '') => p.say(l), { probe });
    if (!result.ok && flags.force) {
      p.say('The live test failed; writing the file anyway (--force). Fix what the test found before the relay starts.');
    } else if (!result.ok) {
      if (p.unattended) {
        process.stderr.write('authrelay: the live test failed (see above); nothing was written. Fix what it found, or add --force to write the file anyway.\n');
        return 1;
      }
      const next = await p.choose('\nThe test failed. What now?', [
        { value: 'back', label: answers.entra ? 'enter the tenant, client ID and credential again' : answers.relay ? 'enter the relay host and port again' : 'enter the answer again' },
        { value: 'write', label: answers.relay ? 'write the file anyway (fix the relay or its settings later)' : 'write the file anyway (fix Microsoft 365 later)' },
        { value: 'quit', label: 'stop without writing anything' },
      ], { default: 'back' });
      if (next === 'quit') {
        p.say('Nothing was written.');
        return 1;
      }
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
      process.stderr.write(`authrelay: ${err.message}\n`);
      return 1;
    }
  }
}

/** After a failed test: the answers the test depends on, with the current ones as defaults. */
async function askAgain(p: Prompter, a: InitAnswers, baseDir: string): Promise<void> {
  if (a.entra) {
    a.entra.tenant = await p.ask({ label: 'Directory (tenant) ID or domain', default: a.entra.tenant });
    a.entra.clientId = await p.ask({ label: 'Application (client) ID', default: a.entra.clientId });
    if (a.entra.credential.kind !== 'delegated') a.entra.credential = await askCredential(p, {}, baseDir);
  } else if (a.directSend) {
    a.directSend.domain = await p.ask({ label: 'Your Microsoft 365 domain', default: a.directSend.domain });
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
  p.say(`\nWrote ${written.join(' and ')}.`);
  if (secret?.envName) p.say(`Set ${secret.envName} to the client secret value where the relay runs (e.g. systemd: Environment=${secret.envName}=... in a drop-in readable by root only).`);
  if (secret?.writeFile) p.say(`The client secret is in ${secret.writeFile} (mode 0600); keep it readable by the relay's user only.`);
  if (a.device) {
    const d = a.device;
    p.say(`Device ${d.name}: ${d.networks.length ? `trusted from ${d.networks.join(', ')}` : ''}${d.networks.length && d.username ? '; ' : ''}${d.username ? `user ${d.username}` : ''}`);
    if (password) p.say(`  Its password is: ${password} (shown once; type it into the device)`);
    const l = a.listeners;
    p.say(`  Device settings: SMTP server = this host, port ${l.starttlsPort} with STARTTLS${l.tlsPort !== undefined ? ` (or port ${l.tlsPort} with SSL/TLS)` : ''}${l.legacyPort !== undefined ? `; old devices: port ${l.legacyPort}` : ''}.`);
  }
  p.say('Next:');
  p.say(`  authrelay config check --config ${file}`);
  if (a.route === 'smtp-oauth-delegated') p.say(`  authrelay oauth login ${upstream} --config ${file}`);
  if (upstream) p.say(`  authrelay send-test --route ${upstream} --to <your address> --config ${file}`);
  p.say(`  authrelay serve --config ${file}`);
}

/**
 * `authrelay init`: the setup wizard for the terminal (works over SSH).
 * It asks which route to take, the app registration and its credential, the
 * sending mailbox, the listeners, a first device and the notices address;
 * prints the steps to take in Entra ID and Exchange Online; tests the
 * credentials live; and writes a commented config file that has been
 * validated first. `--yes` takes every answer from flags (unattended).
 */
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { hashPassword } from '../../identity/password.js';
import { ConfigError } from '../../config/load.js';
import { askCredential, gatherAnswers, type InitAnswers, type InitFlags } from '../init/answers.js';
import { buildDocument, FileExistsError, refuseOverwrite, UPSTREAM_NAME, validateDocument, writeFiles } from '../init/config-document.js';
import { liveTest } from '../init/live-test.js';
import { Prompter } from '../init/prompter.js';
import { setupSteps } from '../init/steps.js';

export type { InitFlags } from '../init/answers.js';

export const INIT_USAGE = `usage: authrelay init [--out FILE] [--force]          interactive setup wizard
       authrelay init --yes --route ROUTE [flags]        unattended

routes: graph, smtp-oauth, smtp-oauth-delegated, direct-send, smtp, hold
flags:  --tenant ID --client-id ID --mailbox ADDR --cloud global|usgov|usgov-dod|china
        --client-secret-env NAME | --client-secret-file PATH | --cert-file PEM --key-file PEM
        --domain DOMAIN [--dns-server HOST[:PORT]]...       (direct-send)
        --relay-host HOST[:PORT] [--cert-file PEM --key-file PEM]   (smtp)
        --listen-host ADDR --starttls-port N --tls-port N|no --legacy-tls-port N|no
        --device NAME [--network CIDR]... [--username USER] --admin ADDR --skip-test
        --authority-host URL --graph-url URL --smtp-endpoint HOST:PORT --ca PEM
                                  (private clouds and tests: where to sign in and send, extra CA)
`;

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
  for (;;) {
    const doc = buildDocument(answers, passwordHash, new Date());
    let config;
    try {
      config = validateDocument(doc, answers, baseDir);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`authrelay: the answers do not make a valid configuration; nothing was written:${err.problems.map((x) => `\n  - ${x}`).join('')}\n`);
      return 1;
    }
    const result = flags['skip-test'] ? { ok: true, tested: false } : await liveTest(answers, config, (l = '') => p.say(l));
    if (!result.ok) {
      if (p.unattended) {
        process.stderr.write('authrelay: the live test failed (see above); nothing was written. Fix it, or add --skip-test to write the file anyway.\n');
        return 1;
      }
      const next = await p.choose('\nThe test failed. What now?', [
        { value: 'back', label: answers.entra ? 'enter the tenant, client ID and credential again' : 'enter the answer again' },
        { value: 'write', label: 'write the file anyway (fix Microsoft 365 later)' },
        { value: 'quit', label: 'stop without writing anything' },
      ], { default: 'back' });
      if (next === 'quit') {
        p.say('Nothing was written.');
        return 1;
      }
      if (next === 'back') {
        await askAgain(p, answers, baseDir);
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
    a.relay.host = await p.ask({ label: 'Relay host', default: a.relay.host });
    a.relay.port = Number(await p.ask({ label: 'Relay port', default: String(a.relay.port), check: (v) => (/^\d+$/.test(v) ? undefined : 'a port number') }));
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

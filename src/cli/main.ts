#!/usr/bin/env node
/** The authrelay command line. */
import { setCommandName } from '../core/command-name.js';
import { parseArgs } from 'node:util';
import { cliLang, describeError, setCliLang, UsageError } from './common.js';
import { UserError } from '../core/user-error.js';
import { langFromEnv, langOfLocale } from '../core/i18n.js';
import { commandHelp, helpText, version } from './help.js';
import { CLI_TEXT as T } from './texts.js';

// Commands are loaded when used, so that `serve` starts without loading the others.


/** --lang VALUE or --lang=VALUE anywhere on the line (read before the options are parsed, so that their errors are in the language asked for). */
function langFlag(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--lang') return argv[i + 1];
    if (argv[i]!.startsWith('--lang=')) return argv[i]!.slice('--lang='.length);
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const flag = langFlag(argv);
  setCliLang(langFromEnv(process.env, flag !== undefined && langOfLocale(flag) ? flag : undefined));
  setCommandName(process.env.AUTHRELAY_COMMAND);
  if (flag !== undefined && !['en', 'ja'].includes(flag)) throw new UsageError(T.badLang, { value: flag });
  if (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version') {
    process.stdout.write(`authrelay ${version()}\n`);
    return 0;
  }
  if (argv[0] === 'help') {
    if (!argv[1]) {
      process.stdout.write(helpText(cliLang()));
      return 0;
    }
    if (argv[1] === 'init') {
      process.stdout.write((await import('./commands/init.js')).initUsage(cliLang()));
      return 0;
    }
    const one = commandHelp(argv[1], cliLang());
    if (!one) throw new UsageError(T.noSuchHelp, { command: argv[1] });
    process.stdout.write(one);
    return 0;
  }
  let parsed;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    // Node's own text names the option; say what to do instead of its error code.
    const e = err as { code?: string; message: string };
    if (e.code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(T.badOption, { problem: e.message.replace(/\. To specify a positional argument.*$/s, '') });
    throw err;
  }
  return run(parsed.values, parsed.positionals);
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      state: { type: 'string', multiple: true },
      limit: { type: 'string' },
      sender: { type: 'string' },
      recipient: { type: 'string' },
      device: { type: 'string' },
      username: { type: 'string' },
      network: { type: 'string', multiple: true },
      'send-as': { type: 'string' },
      'allowed-from': { type: 'string', multiple: true },
      'password-stdin': { type: 'boolean' },
      'generate-password': { type: 'boolean' },
      to: { type: 'string' },
      from: { type: 'string' },
      listener: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      wait: { type: 'string' },
      route: { type: 'string' },
      failed: { type: 'boolean' },
      unknown: { type: 'boolean' },
      // init
      yes: { type: 'boolean', short: 'y' }, force: { type: 'boolean' }, out: { type: 'string' }, cloud: { type: 'string' },
      tenant: { type: 'string' }, 'client-id': { type: 'string' }, 'client-secret-env': { type: 'string' }, 'client-secret-file': { type: 'string' },
      'cert-file': { type: 'string' }, 'key-file': { type: 'string' }, mailbox: { type: 'string', multiple: true }, domain: { type: 'string' },
      'dns-server': { type: 'string', multiple: true }, 'relay-host': { type: 'string' }, 'authority-host': { type: 'string' },
      'graph-url': { type: 'string' }, 'smtp-endpoint': { type: 'string' }, ca: { type: 'string' }, 'listen-host': { type: 'string' },
      'starttls-port': { type: 'string' }, 'tls-port': { type: 'string' }, 'legacy-tls-port': { type: 'string' }, admin: { type: 'string' },
      'skip-test': { type: 'boolean' }, 'allow-no-tls': { type: 'boolean' },
      'imap-port': { type: 'string' }, 'pop3-port': { type: 'string' }, 'reader-tls': { type: 'string' }, 'reader-legacy-tls': { type: 'boolean' },
      'imap-endpoint': { type: 'string' }, 'pop3-endpoint': { type: 'string' },
      'public-ip': { type: 'string' },
      // serve
      'log-format': { type: 'string' }, debug: { type: 'boolean' },
      // migrate
      upstream: { type: 'string' }, period: { type: 'string' }, csv: { type: 'boolean' }, reason: { type: 'string' }, name: { type: 'string' },
      version: { type: 'boolean' },
      lang: { type: 'string' },
    },
  });
}

async function run(values: ReturnType<typeof parseOptions>['values'], positionals: string[]): Promise<number> {
  const [command, sub, ...rest] = positionals;
  if (values.version) {
    process.stdout.write(`authrelay ${version()}\n`);
    return 0;
  }
  if (values.help && command === 'init') {
    process.stdout.write((await import('./commands/init.js')).initUsage(cliLang()));
    return 0;
  }
  if (values.help && command) {
    const one = commandHelp(command, cliLang());
    if (one) {
      process.stdout.write(one);
      return 0;
    }
  }
  if (values.help || !command) {
    process.stdout.write(helpText(cliLang()));
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'serve':
      await (await import('./commands/serve.js')).serve(values);
      return -1; // keeps running
    case 'config':
      (await import('./commands/config.js')).configCommand(sub, values);
      return 0;
    case 'queue':
      return (await import('./commands/queue.js')).queueCommand(sub, rest, values);
    case 'device':
      return (await import('./commands/device.js')).deviceCommand(sub, rest, values);
    case 'reload':
      return (await import('./commands/reload.js')).reloadCommand(values);
    case 'send-test':
      return (await import('./commands/send-test.js')).sendTest(values);
    case 'oauth':
      return (await import('./commands/oauth.js')).oauthCommand(sub, rest, values);
    case 'doctor':
      return (await import('./commands/doctor.js')).doctorCommand(values);
    case 'migrate':
      return (await import('./commands/migrate.js')).migrateCommand(sub, rest, values);
    case 'store':
      return (await import('./commands/store.js')).storeCommand(sub, values);
    case 'init':
      return (await import('./commands/init.js')).initCommand(values);
    default:
      throw new UsageError(T.unknownCommand, { command, help: helpText(cliLang()) });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`authrelay: ${describeError(err)}\n`);
    // 2: the command or its input cannot be used as given (a usage error, a name that does not exist); 1: it failed.
    process.exitCode = err instanceof UserError ? 2 : 1;
  },
);

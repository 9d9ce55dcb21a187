#!/usr/bin/env node
/** The authrelay command line. */
import { parseArgs } from 'node:util';
import { describeError, UsageError } from './common.js';

// Commands are loaded when used, so that `serve` starts without loading the others.

const HELP = `authrelay: a mail relay for devices that cannot do modern authentication

  authrelay serve [--config FILE]                  run the relay
  authrelay config check|print|schema               validate, show (secrets hidden), JSON Schema
  authrelay device add|list|remove|passwd NAME     manage devices in the config file
  authrelay queue list|show|retry|release|delete   look at and act on the queue (--json; retry --failed: all failed)
  authrelay send-test --to ADDR                    send a test message through the running relay
  authrelay oauth login|status [UPSTREAM]          Microsoft 365 sign-in (device code) and token status
  authrelay send-test --route NAME --to ADDR       send one straight through an upstream, step by step
  authrelay init [--yes ...] [--out FILE]          setup wizard: asks, tests the credentials, writes the config (init --help)
  authrelay doctor [--json] [--public-ip A.B.C.D]  check config, listeners, upstreams and queue, with the fix for each problem
  authrelay store migrate|check [--json]           the spool's schema: apply pending migrations; check connection, schema, queue

The config file is --config FILE, $AUTHRELAY_CONFIG, or ./authrelay.yaml; without one the
embedded default runs (listeners 2525 STARTTLS and 2465 TLS, messages held for inspection).
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
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
      // init
      yes: { type: 'boolean', short: 'y' }, force: { type: 'boolean' }, out: { type: 'string' }, cloud: { type: 'string' },
      tenant: { type: 'string' }, 'client-id': { type: 'string' }, 'client-secret-env': { type: 'string' }, 'client-secret-file': { type: 'string' },
      'cert-file': { type: 'string' }, 'key-file': { type: 'string' }, mailbox: { type: 'string' }, domain: { type: 'string' },
      'dns-server': { type: 'string', multiple: true }, 'relay-host': { type: 'string' }, 'authority-host': { type: 'string' },
      'graph-url': { type: 'string' }, 'smtp-endpoint': { type: 'string' }, ca: { type: 'string' }, 'listen-host': { type: 'string' },
      'starttls-port': { type: 'string' }, 'tls-port': { type: 'string' }, 'legacy-tls-port': { type: 'string' }, admin: { type: 'string' },
      'skip-test': { type: 'boolean' },
      'public-ip': { type: 'string' },
    },
  });
  const [command, sub, ...rest] = positionals;
  if (values.help && command === 'init') {
    process.stdout.write((await import('./commands/init.js')).INIT_USAGE);
    return 0;
  }
  if (values.help || !command) {
    process.stdout.write(HELP);
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
    case 'send-test':
      return (await import('./commands/send-test.js')).sendTest(values);
    case 'oauth':
      return (await import('./commands/oauth.js')).oauthCommand(sub, rest, values);
    case 'doctor':
      return (await import('./commands/doctor.js')).doctorCommand(values);
    case 'store':
      return (await import('./commands/store.js')).storeCommand(sub, values);
    case 'init':
      return (await import('./commands/init.js')).initCommand(values);
    default:
      throw new UsageError(`unknown command "${command}"\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`authrelay: ${describeError(err)}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);

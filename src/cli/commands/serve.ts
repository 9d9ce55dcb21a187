/**
 * `authrelay serve`: runs the relay until SIGINT/SIGTERM, then stops
 * gracefully (see RunningRelay.stop) and exits 0. A second signal during the
 * stop ends the process at once (exit 1): accepted messages are safe in the
 * spool, a delivery cut short is tried again after the next start. SIGHUP
 * applies the configuration file again (a reload).
 *
 * On a terminal the output is for people: a short summary of where SMTP
 * listens, where the console is and where mail goes, then one readable line
 * per event. Elsewhere (a service, a pipe), or with --log-format json, it is
 * one JSON object per line.
 */
import { createLogger, type LogFormat } from '../../core/log.js';
import { formatDuration } from '../../core/units.js';
import { startRelay, type StartSummary } from '../../main.js';
import { loadConfig, tr, UsageError } from '../common.js';
import { CLI_TEXT as T } from '../texts.js';
import { commandName } from '../command-name.js';

export interface ServeFlags {
  config?: string | undefined;
  'log-format'?: string | undefined;
  debug?: boolean | undefined;
}

export async function serve(flags: ServeFlags): Promise<void> {
  const format = logFormat(flags['log-format']);
  const { config, source, file } = loadConfig(flags.config);
  const log = createLogger(config.log.level, undefined, format);
  log.info({ event: 'config', source, dataDir: config.dataDir }, `configuration: ${source}`);
  // Signals are taken from the first moment: one that comes while the relay starts stops it once it is up
  // (the listeners may already accept; stopping then is the graceful stop).
  let onSignal: (signal: string) => void;
  let pending: string | undefined;
  onSignal = (signal) => {
    pending ??= signal;
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  let relay;
  try {
    relay = await startRelay(config, log, { configFile: file });
  } catch (err) {
    const message = startFailure(err as NodeJS.ErrnoException, config.dataDir);
    log.fatal({ event: 'start-failed', ...(flags.debug ? { err } : { error: (err as Error).message }) }, `could not start: ${message}`);
    log.flush();
    await new Promise((r) => setTimeout(r, 100));
    process.exit(1);
  }
  if (format === 'pretty') process.stdout.write(renderSummary(relay.summary()));
  const exit = (code: number) => {
    log.flush();
    setTimeout(() => process.exit(code), 100);
  };
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn({ event: 'shutdown-forced', signal }, `received ${signal} again: stopping at once; messages already accepted are kept, deliveries cut short are tried again after the next start`);
      exit(1);
      return;
    }
    stopping = true;
    const limit = formatDuration(relay.current().config.shutdownTimeout);
    log.warn({ event: 'shutdown', signal, shutdownTimeout: relay.current().config.shutdownTimeout },
      `received ${signal}: shutting down. No new SMTP connections; open sessions may finish the message in progress and deliveries in flight may finish, ` +
      `for up to ${limit} (shutdownTimeout); then sessions get 421 and deliveries are retried later. Send the signal again to stop at once`);
    relay.stop().then(() => exit(0), (err: unknown) => {
      log.error({ event: 'stop-failed', err }, `the stop did not complete: ${(err as Error).message}`);
      exit(1);
    });
  };
  onSignal = shutdown;
  if (pending) shutdown(pending);
  // SIGHUP reads the configuration file again (systemd's ExecReload); the result is in the log.
  process.on('SIGHUP', () => {
    if (!stopping) void relay.reload('SIGHUP');
  });
  // Every stage handles its own failures; one that slips through is logged and the relay goes on
  // (accepted messages are in the spool, deliveries record their own outcome) instead of ending
  // the process in the middle of deliveries.
  process.on('unhandledRejection', (reason) => {
    log.error({ event: 'unhandled-rejection', err: reason }, `an operation failed and nothing handled the failure (${reason instanceof Error ? reason.message : String(reason)}); the relay keeps running. Please report this with the log line`);
  });
  // A thrown exception leaves the program in an unknown state: stop gracefully, then exit 1 (the service manager restarts it).
  process.on('uncaughtException', (err) => {
    log.fatal({ event: 'uncaught-exception', err }, `unexpected error (${err.message}); stopping gracefully. Please report this with the log line`);
    if (!stopping) {
      stopping = true;
      relay.stop().finally(() => exit(1));
    } else exit(1);
  });
}

function logFormat(flag: string | undefined): LogFormat {
  if (flag === undefined) return process.stdout.isTTY ? 'pretty' : 'json';
  if (flag === 'json' || flag === 'pretty') return flag;
  throw new UsageError(T.badLogFormat, { value: flag });
}

/** Why the start failed, with what to do (a ListenError already says which listener and how to find what holds the port). */
function startFailure(err: NodeJS.ErrnoException, dataDir: string): string {
  const path = typeof err.path === 'string' ? err.path : undefined;
  if ((err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS') && path) {
    return `${path} cannot be written by this user (${err.code}). The data directory (${dataDir}) must be writable by the user the relay runs as: ` +
      `run it as that user, give the directory to it (sudo chown -R USER ${dataDir}), or set dataDir to a directory it may write`;
  }
  if (err.code === 'ENOSPC') return `the disk holding ${path ?? dataDir} is full: free space, then start again`;
  return err.message;
}

type Listening = Pick<StartSummary['listeners'][number], 'tls' | 'minTlsVersion'>;
const tlsText = (l: Listening) => (l.tls === 'none' ? tr(T.sumNoTls)
  : tr(l.tls === 'starttls' ? T.sumStarttls : T.sumImplicit, { version: l.minTlsVersion.replace('TLSv', 'TLS ') }));

const authText = (l: StartSummary['listeners'][number]) =>
  tr(l.allowInsecureAuth ? T.sumAuthInsecure : l.tls === 'starttls' ? T.sumAuthStarttls : l.tls === 'implicit' ? T.sumAuthTls : T.sumAuthNone);

/** The start-up summary for people, on a terminal, in the command line's language. */
export function renderSummary(s: StartSummary): string {
  const cmd = commandName();
  const lines = ['', tr(T.sumRunning, { version: s.configVersion, file: s.configFile ?? tr(T.sumNoFile) }), ''];
  const at = s.deviceAddresses.length ? s.deviceAddresses.join(', ') : tr(T.sumNoAddress);
  lines.push(tr(T.sumSmtpAt, { addresses: at }));
  for (const l of s.listeners) {
    lines.push(tr(T.sumListener, { port: String(l.port).padEnd(5), tls: tlsText(l), auth: authText(l), require: l.requireAuth ? tr(T.sumRequire) : '', name: l.name }));
  }
  if (!s.deviceAddresses.length) lines.push(tr(T.sumLoopbackOnly));
  if (s.readers.length) {
    lines.push('', tr(T.sumReaders));
    for (const r of s.readers) lines.push(tr(T.sumReader, { port: String(r.port).padEnd(5), protocol: r.protocol.toUpperCase(), tls: tlsText(r), upstream: r.upstream, name: r.name }));
  }
  if (s.consoleUrl) lines.push('', tr(T.sumConsole, { url: s.consoleUrl }));
  if (s.setupLink) lines.push(tr(T.sumFirstStart, { link: s.setupLink }));
  lines.push('', tr(T.sumWhere));
  for (const r of s.routes) {
    const when = [
      r.device.length ? tr(T.sumFrom, { list: r.device.join(', ') }) : '', r.sender.length ? tr(T.sumSentBy, { list: r.sender.join(', ') }) : '',
      r.recipientDomain.length ? tr(T.sumTo, { list: r.recipientDomain.join(', ') }) : '',
    ].filter(Boolean).join(' ') || tr(T.sumAllMail);
    lines.push(r.use.length
      ? tr(T.sumRoute, { when, upstreams: r.use.map((u) => `${u.name} (${u.type})`).join(tr(T.sumThen)) })
      : tr(T.sumHeld, { when }));
  }
  if (s.holding) lines.push(tr(T.sumHolding, { cmd }));
  lines.push('', tr(T.sumChange, { file: s.configFile ?? 'authrelay.yaml', cmd }), '');
  return `${lines.join('\n')}\n`;
}

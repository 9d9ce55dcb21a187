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
import { loadConfig, UsageError } from '../common.js';
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
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
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
  throw new UsageError(`--log-format: "${flag}" is not a log format; use json or pretty`);
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

const tlsText = (l: StartSummary['listeners'][number]) => (l.tls === 'none' ? 'no TLS' : l.tls === 'starttls' ? 'STARTTLS' : 'TLS from the first byte') +
  (l.tls === 'none' ? '' : `, ${l.minTlsVersion.replace('TLSv', 'TLS ')} or newer`);

const authText = (l: StartSummary['listeners'][number]) =>
  l.allowInsecureAuth ? 'passwords accepted without TLS' : l.tls === 'starttls' ? 'passwords after STARTTLS' : l.tls === 'implicit' ? 'passwords over TLS' : 'no passwords (trusted networks only)';

/** The start-up summary for people, on a terminal. */
export function renderSummary(s: StartSummary): string {
  const cmd = commandName();
  const lines = ['', `authrelay is running: configuration ${s.configVersion}, ${s.configFile ?? 'the embedded default (no configuration file)'}`, ''];
  const at = s.deviceAddresses.length ? s.deviceAddresses.join(', ') : 'no address of this machine was found';
  lines.push(`  SMTP for your devices, at ${at}:`);
  for (const l of s.listeners) lines.push(`    port ${String(l.port).padEnd(5)}  ${tlsText(l)}; ${authText(l)}${l.requireAuth ? '; every device must log in' : ''}   (listener ${l.name})`);
  if (!s.deviceAddresses.length) lines.push('    A device cannot reach 127.0.0.1: set publicAddress to the name or address devices use.');
  if (s.consoleUrl) lines.push('', `  Web console:  ${s.consoleUrl}`);
  if (s.setupLink) lines.push(`  First start:  open ${s.setupLink} to set the admin password (a one-time link)`);
  lines.push('', '  Where mail goes:');
  for (const r of s.routes) lines.push(`    ${r}`);
  if (s.holding) {
    lines.push(`    Every message is kept in the queue until an upstream is configured: the console's setup wizard, or \`${cmd} init\`.`);
  }
  lines.push('', `  Change the configuration: edit ${s.configFile ?? 'authrelay.yaml'}, then \`${cmd} reload\`; ${cmd} help lists every command.`, '');
  return `${lines.join('\n')}\n`;
}

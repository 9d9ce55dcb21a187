/**
 * `authrelay serve`: runs the relay until SIGINT/SIGTERM, then stops
 * gracefully (see RunningRelay.stop) and exits 0. A second signal during the
 * stop ends the process at once (exit 1): accepted messages are safe in the
 * spool, a delivery cut short is tried again after the next start.
 */
import { createLogger } from '../../core/log.js';
import { formatDuration } from '../../core/units.js';
import { startRelay } from '../../main.js';
import { loadConfig } from '../common.js';

export async function serve(flags: { config?: string | undefined }): Promise<void> {
  const { config, source, file } = loadConfig(flags.config);
  const log = createLogger(config.log.level);
  log.info({ event: 'config', source, dataDir: config.dataDir }, `configuration: ${source}`);
  let relay;
  try {
    relay = await startRelay(config, log, { configFile: file });
  } catch (err) {
    log.fatal({ event: 'start-failed', err }, `could not start: ${(err as Error).message}`);
    log.flush();
    await new Promise((r) => setTimeout(r, 50));
    process.exit(1);
  }
  const exit = (code: number) => {
    log.flush();
    setTimeout(() => process.exit(code), 50);
  };
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn({ event: 'shutdown-forced', signal }, `received ${signal} again: stopping at once; messages already accepted are kept, deliveries cut short are tried again after the next start`);
      exit(1);
      return;
    }
    stopping = true;
    const limit = formatDuration(config.shutdownTimeout);
    log.warn({ event: 'shutdown', signal, shutdownTimeout: config.shutdownTimeout },
      `received ${signal}: shutting down. No new SMTP connections; open sessions may finish the message in progress and deliveries in flight may finish, ` +
      `for up to ${limit} (shutdownTimeout); then sessions get 421 and deliveries are retried later. Send the signal again to stop at once`);
    relay.stop().then(() => exit(0), (err: unknown) => {
      log.error({ event: 'stop-failed', err }, `the stop did not complete: ${(err as Error).message}`);
      exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

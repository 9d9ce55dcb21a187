/** `authrelay serve`: runs the relay until SIGINT/SIGTERM. */
import { createLogger } from '../../core/log.js';
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
  const shutdown = (signal: string) => {
    log.warn({ event: 'shutdown', signal }, `received ${signal}; finishing deliveries in progress and stopping`);
    void relay.stop().then(() => {
      log.flush();
      setTimeout(() => process.exit(0), 50);
    });
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

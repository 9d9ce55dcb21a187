/**
 * `authrelay reload`: checks the configuration file, then asks the relay
 * that runs on its data directory to apply it without a restart (through the
 * control socket). A file that is not valid is refused here, with its
 * problems, before the relay is asked; the relay checks again and keeps its
 * running configuration when it cannot apply the new one. Exit 0 when the
 * new configuration is in effect, 1 when it was refused or no relay runs.
 */
import type { ReloadResult } from '../../core/reload-result.js';
import { askRelay } from '../control-client.js';
import { loadConfig, printJson, UsageError } from '../common.js';

export async function reloadCommand(flags: { config?: string | undefined; json?: boolean | undefined }): Promise<number> {
  const { config, file } = loadConfig(flags.config);
  if (!file) {
    throw new UsageError('there is no configuration file to apply (the embedded default runs without one): write one with `authrelay init`, or add a device with `authrelay device add`, then reload');
  }
  const answer = await askRelay<ReloadResult>(config.dataDir, { cmd: 'reload', by: 'authrelay reload', file });
  if (!answer) {
    const message = `${file} is valid, but no relay is running on ${config.dataDir} (no control socket there): it applies when the relay starts`;
    if (flags.json) printJson({ ok: false, running: false, message });
    else process.stderr.write(`authrelay: ${message}\n`);
    return 1;
  }
  if (flags.json) printJson(answer);
  else (answer.ok ? process.stdout : process.stderr).write(`${answer.ok ? '' : 'authrelay: '}${answer.message}\n`);
  return answer.ok ? 0 : 1;
}

/**
 * After a command changed the configuration file: the relay running on it
 * applies the change at once. Returns the sentence to print.
 */
export async function applyToRunning(dataDir: string, file: string, by: string): Promise<{ applied: boolean; message: string }> {
  const answer = await askRelay<ReloadResult>(dataDir, { cmd: 'reload', by, file });
  if (!answer) return { applied: false, message: 'no relay is running on this data directory: the change applies when it starts' };
  return { applied: answer.ok, message: answer.ok ? `applied to the running relay: ${answer.message}` : `NOT applied to the running relay: ${answer.message}` };
}

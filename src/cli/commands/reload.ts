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
import { cliLang, loadConfig, printJson, tr, UsageError } from '../common.js';
import type { Changes } from '../../core/reload-result.js';
import { CLI_TEXT as T } from '../texts.js';

export async function reloadCommand(flags: { config?: string | undefined; json?: boolean | undefined }): Promise<number> {
  const { config, file } = loadConfig(flags.config);
  if (!file) {
    throw new UsageError(T.reloadNoFile);
  }
  const answer = await askRelay<ReloadResult>(config.dataDir, { cmd: 'reload', by: 'authrelay reload', file });
  if (!answer) {
    const message = tr(T.reloadNotRunning, { file, dataDir: config.dataDir });
    if (flags.json) printJson({ ok: false, running: false, message });
    else process.stderr.write(`authrelay: ${message}\n`);
    return 1;
  }
  if (flags.json) printJson(answer);
  else (answer.ok ? process.stdout : process.stderr).write(`${answer.ok ? '' : 'authrelay: '}${reloadSentence(answer)}\n`);
  return answer.ok ? 0 : 1;
}

/**
 * After a command changed the configuration file: the relay running on it
 * applies the change at once. Returns the sentence to print.
 */
export async function applyToRunning(dataDir: string, file: string, by: string): Promise<{ applied: boolean; running: boolean; message: string }> {
  const answer = await askRelay<ReloadResult>(dataDir, { cmd: 'reload', by, file });
  if (!answer) return { applied: false, running: false, message: tr(T.appliedNotRunning) };
  return { applied: answer.ok, running: true, message: tr(answer.ok ? T.applied : T.notApplied, { message: reloadSentence(answer) }) };
}

/** The relay's answer in this run's language: its own sentence in English, told again from its facts otherwise. */
export function reloadSentence(r: ReloadResult): string {
  if (cliLang() === 'en') return r.message;
  if (!r.ok) return tr(T.reloadRefused, { version: r.version, problems: (r.problems ?? []).join('; ') });
  const parts: string[] = [];
  const list = (what: typeof T.reloadDevices, x: Changes | undefined) => {
    if (x?.added.length) parts.push(tr(T.reloadAdded, { what: tr(what), names: x.added.join(', ') }));
    if (x?.changed.length) parts.push(tr(T.reloadChanged, { what: tr(what), names: x.changed.join(', ') }));
    if (x?.removed.length) parts.push(tr(T.reloadRemoved, { what: tr(what), names: x.removed.join(', ') }));
  };
  const c = r.changes;
  list(T.reloadDevices, c?.devices);
  list(T.reloadListeners, c?.listeners);
  list(T.reloadUpstreams, c?.upstreams);
  if (c?.routes) parts.push(tr(T.reloadRoutes));
  if (c?.rerouted) parts.push(tr(T.reloadRerouted, { n: c.rerouted }));
  if (c?.other.length) parts.push(tr(T.reloadOther, { keys: c.other.join(', ') }));
  const restart = r.restartNeeded.length ? tr(T.reloadAtRestart, { keys: r.restartNeeded.join(', ') }) : '';
  return `${tr(T.reloadInEffect, { version: r.version, changes: parts.length ? parts.join('、') : tr(T.reloadNothingChanged) })}${restart}`;
}

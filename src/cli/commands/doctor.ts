/**
 * `authrelay doctor [--json] [--public-ip A.B.C.D]`: checks the configuration,
 * the listeners, every upstream and the queue, and prints each finding with
 * its fix in the command line's language (--lang, LC_ALL, LC_MESSAGES, LANG).
 * `--json` carries every text in both languages ({ en, ja }) and, where a
 * problem comes from the error catalogue, its `ref`. Exit code 0 when nothing
 * failed (warnings included), 1 otherwise.
 */
import { ConfigError } from '../../config/load.js';
import { runDoctor } from '../../doctor/doctor.js';
import { Report, renderText } from '../../doctor/report.js';
import { DOCTOR_TEXT } from '../../doctor/texts.js';
import { cliLang, loadConfig, printJson } from '../common.js';
import { CLI_TEXT as T } from '../texts.js';

export interface DoctorFlags {
  config?: string | undefined;
  json?: boolean | undefined;
  'public-ip'?: string | undefined;
}

/** A configuration's problems in both languages (the problems themselves name keys and values). */
function problemsText(err: ConfigError): { en: string; ja: string } {
  const where = err.file ? `${err.file}: ` : '';
  const headline = err.problems.length ? T.configInvalid : T.configMissing;
  const text = (lang: 'en' | 'ja') => `${where}${err.problems.length || lang === 'ja' ? headline[lang] : err.message.slice(where.length)}${err.problemsIn(lang).map((p) => `\n  - ${p}`).join('')}`;
  return { en: text('en'), ja: text('ja') };
}

export async function doctorCommand(flags: DoctorFlags): Promise<number> {
  const report = new Report();
  let loaded: ReturnType<typeof loadConfig> | undefined;
  try {
    loaded = loadConfig(flags.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    report.section(DOCTOR_TEXT.sectionConfiguration)({
      id: 'config.valid', status: 'fail', title: T.doctorConfigInvalid, detail: problemsText(err), fix: T.doctorConfigInvalidFix,
    });
  }
  if (loaded) await runDoctor(loaded.config, { publicIp: flags['public-ip'], source: loaded.source }, report);
  if (flags.json) printJson({ checks: report.checks, summary: report.counts() });
  else process.stdout.write(renderText(report.checks, process.stdout.isTTY === true, cliLang()));
  return report.exitCode();
}

/**
 * `authrelay doctor [--json] [--public-ip A.B.C.D]`: checks the configuration,
 * the listeners, every upstream and the queue, and prints each finding with
 * its fix. Exit code 0 when nothing failed (warnings included), 1 otherwise.
 */
import { ConfigError } from '../../config/load.js';
import { runDoctor } from '../../doctor/doctor.js';
import { Report, renderText } from '../../doctor/report.js';
import { describeError, loadConfig, printJson } from '../common.js';

export interface DoctorFlags {
  config?: string | undefined;
  json?: boolean | undefined;
  'public-ip'?: string | undefined;
}

export async function doctorCommand(flags: DoctorFlags): Promise<number> {
  const report = new Report();
  let loaded: ReturnType<typeof loadConfig> | undefined;
  try {
    loaded = loadConfig(flags.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    report.section('Configuration')({
      id: 'config.valid', status: 'fail', title: 'the configuration is not valid; nothing else can be checked',
      detail: describeError(err), fix: 'Correct the keys named above (authrelay config check shows the same), then run doctor again.',
    });
  }
  if (loaded) await runDoctor(loaded.config, { publicIp: flags['public-ip'], source: loaded.source }, report);
  if (flags.json) printJson({ checks: report.checks, summary: report.counts() });
  else process.stdout.write(renderText(report.checks, process.stdout.isTTY === true));
  return report.exitCode();
}

/**
 * The one place that edits the configuration file, for every face (the CLI's
 * `authrelay device ...`, the console and API, the wizards): the file is
 * parsed with its comments, changed, the result validated exactly as a start
 * or a reload would (a change that makes it invalid is refused and nothing is
 * written), then written atomically (temporary file, fsync, rename). The
 * running relay applies the new file with a reload.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isMap, isSeq, parseDocument, type Document } from '../vendor/yaml.js';
import { writeFileAtomic } from '../core/files.js';
import { UserError } from '../core/user-error.js';
import { validateConfig } from './load.js';
import type { Config } from './schema.js';

export interface EditOptions {
  /** Environment for ${VAR} references, as the relay sees it. */
  env: Record<string, string | undefined>;
  /** The text a file that does not exist yet starts from. */
  initialText?: string;
}

const NEW_FILE = '# authrelay configuration (see `authrelay config schema` and docs/configuration.md)\n';

/** Where the first change made on the embedded default is written (the working directory, where ./data is). */
export const EMBEDDED_DEFAULT_FILE = 'authrelay.yaml';

/** The start of that first file: it says what the file is and what the settings not in it are. */
export function firstFileText(by: string): string {
  return `# authrelay configuration, written by ${by} when the first change was made on the
# embedded default. Everything not set here keeps the embedded default: SMTP listeners on
# 2525 (STARTTLS) and 2465 (implicit TLS), the queue in ./data, the console on
# http://127.0.0.1:8025/, and every message held until an upstream is configured.
# Every key is explained in docs/configuration.md (\`authrelay config schema\` for editors).
`;
}

/**
 * Edits a config file in place (comments kept). `change` may throw a
 * UserError to refuse. Throws ConfigError, writing nothing, when the result
 * would not be a valid configuration. Resolves with the validated result.
 */
export function editConfigFile(file: string, change: (doc: Document) => void, opts: EditOptions): Config {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : (opts.initialText ?? NEW_FILE);
  const doc = parseDocument(text);
  if (doc.errors.length) throw new UserError({ en: '{file}: the file is not valid YAML ({error}); fix it by hand first', ja: '{file}: ファイルが YAML として正しくありません ({error})。先に手で直してください' }, { file, error: doc.errors[0]!.message });
  if (doc.contents === null) doc.contents = doc.createNode({}) as never;
  change(doc);
  const out = doc.toString();
  const config = validateConfig(parseDocument(out).toJS(), { env: opts.env }, dirname(file));
  writeFileAtomic(file, out);
  return config;
}

/** The position of the device called name in the document's devices list, if it is there. */
export function deviceIndex(doc: Document, name: string): number | undefined {
  const seq = doc.get('devices');
  if (!isSeq(seq)) return undefined;
  const i = seq.items.findIndex((it) => isMap(it) && it.get('name') === name);
  return i < 0 ? undefined : i;
}

/** Like deviceIndex, refusing with a UserError when there is no such device. */
export function requireDevice(doc: Document, name: string): number {
  const i = deviceIndex(doc, name);
  if (i === undefined) throw new UserError({ en: 'no device named {name} in the config file', ja: '設定ファイルに {name} という名前のデバイスはありません' }, { name });
  return i;
}

/** Appends a device entry (refused when the name is taken). */
export function addDevice(doc: Document, entry: Record<string, unknown> & { name: string }): void {
  if (deviceIndex(doc, entry.name) !== undefined) throw new UserError({ en: 'a device named {name} exists already', ja: '{name} という名前のデバイスはすでにあります' }, { name: entry.name });
  if (!isSeq(doc.get('devices'))) doc.set('devices', doc.createNode([]));
  doc.addIn(['devices'], doc.createNode(entry));
}

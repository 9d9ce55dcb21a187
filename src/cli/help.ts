/**
 * The command line's help: `authrelay help`, `-h`, `help COMMAND`, and the
 * version, in English or Japanese (--lang, LC_ALL, LC_MESSAGES, LANG). Every
 * line names the command as the person types it where they stand
 * (`npx authrelay` in a source tree, `authrelay` where installed); usage
 * lines (commands and flags) are the same in both languages.
 */
import { readFileSync } from 'node:fs';
import { render, type Lang, type Text } from '../core/i18n.js';
import { commandName } from './command-name.js';

interface CommandHelp {
  /** The lines of usage, without the command name. */
  usage: string[];
  summary: Text;
  /** More lines for `help COMMAND`. */
  details?: Text[];
}

export const COMMAND_HELP: Record<string, CommandHelp> = {
  serve: {
    usage: ['serve [--config FILE] [--log-format json|pretty] [--debug]'],
    summary: { en: 'run the relay', ja: 'リレーを起動します' },
    details: [
      {
        en: 'On a terminal the output is a short summary and one readable line per event; otherwise (or with --log-format json) one JSON object per line.',
        ja: '端末では短い概要と、イベントごとに読みやすい 1 行を表示します。それ以外の場合 (または `--log-format json` を付けた場合) は 1 行に 1 つの JSON オブジェクトを出力します。',
      },
      {
        en: 'SIGHUP applies the configuration file again; SIGTERM or SIGINT stops gracefully. --debug adds stack traces to start-up failures.',
        ja: 'SIGHUP で設定ファイルを適用し直し、SIGTERM または SIGINT で処理中の作業を終えてから停止します。`--debug` を付けると、起動の失敗にスタック トレースを添えます。',
      },
    ],
  },
  reload: {
    usage: ['reload [--config FILE] [--json]'],
    summary: { en: 'check the config file and apply it to the running relay (no restart)', ja: '設定ファイルを検証し、動作中のリレーに反映します (再起動は不要です)' },
    details: [{
      en: 'A file that is not valid is refused with its problems, and the relay keeps its running configuration.',
      ja: '正しくないファイルは問題点を示して拒否し、リレーは動作中の設定をそのまま使い続けます。',
    }],
  },
  config: {
    usage: ['config check|print|schema [--config FILE]'],
    summary: { en: 'validate the file, show it (secrets hidden), print the JSON Schema', ja: 'ファイルを検証し、(シークレットを伏せて) 表示し、JSON スキーマを出力します' },
  },
  device: {
    usage: ['device add NAME [--generate-password|--password-stdin] [--username U] [--network CIDR]... [--send-as ADDR] [--allowed-from PATTERN]... [--mailbox ADDR]...',
      'device edit NAME [--mailbox ADDR|none]... [--network CIDR]... [--send-as ADDR] [--allowed-from PATTERN]...',
      'device list [--json] | remove NAME | passwd NAME [--generate-password|--password-stdin]', 'device watch NAME | --unknown'],
    summary: {
      en: 'manage devices (applied to the running relay at once); watch a device\'s SMTP sessions live',
      ja: 'デバイスを管理します (動作中のリレーにすぐ反映されます)。デバイスの SMTP セッションをその場で見ることもできます',
    },
    details: [{
      en: '--mailbox (repeatable) makes a reader device: the mailboxes it may open through the IMAP and POP3 listeners (docs/imap-pop.md); device edit --mailbox replaces the list, --mailbox none empties it.',
      ja: '`--mailbox` (複数指定可) でメールを読む機器になります。IMAP と POP3 のリスナーを通して開けるメールボックスです (docs/imap-pop.md)。`device edit --mailbox` は一覧を置き換え、`--mailbox none` で空にします。',
    }, {
      en: 'device watch shows the device\'s last SMTP sessions, then each step as it happens, with what a refusal means and what to do.',
      ja: '`device watch` はデバイスの直近の SMTP セッションを表示し、続けて各ステップを起きたときに表示します。拒否されたときは、その意味と対処も示します。',
    }],
  },
  queue: {
    usage: ['queue list [--state S]... [--limit N] [--json]', 'queue show ID | retry ID | retry --failed | release ID | delete ID'],
    summary: { en: 'look at and act on the queue', ja: 'キューを確認し、操作します' },
  },
  'send-test': {
    usage: ['send-test --to ADDR [--from ADDR]', 'send-test --route UPSTREAM --to ADDR'],
    summary: {
      en: 'send a test message through the relay, or straight through an upstream, step by step',
      ja: 'テスト メッセージをリレー経由で、またはアップストリームへ直接送り、各ステップを表示します',
    },
  },
  init: {
    usage: ['init [--yes ...] [--out FILE] (see init --help)'],
    summary: { en: 'setup wizard: asks, tests live, writes the configuration', ja: 'セットアップ ウィザード: 質問し、その場でテストして、設定ファイルを書き込みます' },
  },
  doctor: {
    usage: ['doctor [--json] [--public-ip A.B.C.D]'],
    summary: { en: 'check config, listeners, upstreams and queue, with the fix for each problem', ja: '設定、リスナー、アップストリーム、キューを確認し、問題ごとに対処を示します' },
  },
  oauth: {
    usage: ['oauth login|status [UPSTREAM]'],
    summary: { en: 'Microsoft 365 sign-in of one mailbox (device code) and token status', ja: '1 つのメールボックスの Microsoft 365 へのサインイン (デバイス コード) と、トークンの状態' },
  },
  migrate: {
    usage: ['migrate scan [--upstream NAME] [--period D7|D30|D90|D180] [--json]', 'migrate status [--json|--csv]', 'migrate ignore|unignore MAILBOX [--reason TEXT] | add-device MAILBOX [--name NAME]'],
    summary: {
      en: 'find the mailboxes still on basic-auth SMTP and move them (docs/migration.md)',
      ja: 'まだ基本認証の SMTP を使っているメールボックスを見つけて移行します (docs/migration.md)',
    },
  },
  store: {
    usage: ['store migrate|check [--json]'],
    summary: { en: 'the spool\'s schema: apply pending migrations; check connection, schema, queue', ja: 'スプールのスキーマ: 未適用の移行を適用し、接続・スキーマ・キューを確認します' },
  },
  help: {
    usage: ['help [COMMAND]', '--version'],
    summary: { en: 'this help, or one command\'s; the version', ja: 'このヘルプ、またはコマンドごとのヘルプと、バージョン' },
  },
};

/** The other texts of the help. */
export const HELP_TEXT = {
  tagline: { en: 'a mail relay for devices that cannot do modern authentication', ja: '先進認証に対応していないデバイスのためのメール リレー' },
  footer: {
    en: '`{cmd} help COMMAND` shows a command\'s options. The config file is --config FILE,\n$AUTHRELAY_CONFIG, or ./authrelay.yaml; without one the embedded default runs\n(listeners 2525 STARTTLS and 2465 TLS, messages held until an upstream is configured).\n'
      + 'Output is in English or Japanese: --lang en|ja, else LC_ALL, LC_MESSAGES, LANG.',
    ja: '`{cmd} help COMMAND` でコマンドのオプションを表示します。設定ファイルは `--config FILE`、\n$AUTHRELAY_CONFIG、または ./authrelay.yaml です。ない場合は組み込みの既定値で動作します\n(リスナーは 2525 の STARTTLS と 2465 の TLS、アップストリームを設定するまでメッセージは保留されます)。\n'
      + '表示は英語または日本語です: `--lang en|ja`、なければ LC_ALL、LC_MESSAGES、LANG に従います。',
  },
  usage: { en: 'usage', ja: '使い方' },
} satisfies Record<string, Text>;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function helpText(lang: Lang = 'en'): string {
  const cmd = commandName();
  const rows = Object.entries(COMMAND_HELP).map(([, c]) => [`${cmd} ${c.usage[0]!.split(' [')[0]!.split(' (')[0]}`, render(c.summary, lang)] as const);
  const width = Math.max(...rows.map(([u]) => u.length));
  return `authrelay ${version()}: ${render(HELP_TEXT.tagline, lang)}

${rows.map(([u, s]) => `  ${u.padEnd(width)}  ${s}`).join('\n')}

${render(HELP_TEXT.footer, lang, { cmd })}
`;
}

/** `help COMMAND`; undefined when there is no such command. */
export function commandHelp(name: string, lang: Lang = 'en'): string | undefined {
  const c = COMMAND_HELP[name];
  if (!c) return undefined;
  const cmd = commandName();
  const label = render(HELP_TEXT.usage, lang);
  const indent = ' '.repeat(displayWidth(label) + 2);
  const end = lang === 'ja' ? '' : '.';
  return `${c.usage.map((u, i) => `${i === 0 ? `${label}: ` : indent}${cmd} ${u}`).join('\n')}\n\n${render(c.summary, lang)}${end}\n${(c.details ?? []).map((d) => `\n${render(d, lang)}`).join('')}\n`;
}

/** Columns a text takes on a terminal (CJK characters take two). */
export function displayWidth(text: string): number {
  let n = 0;
  for (const ch of text) n += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 2 : 1;
  return n;
}

/**
 * The questions of `authrelay init`, asked one line at a time with
 * node:readline/promises. Works on a terminal (also over SSH) and with
 * answers piped to standard input: lines are read through the interface's
 * async iterator, so answers that arrive early wait for their question.
 * A secret is read without echo when standard input is a terminal. A
 * command-line flag answers its question without asking; with `--yes`
 * nothing is asked: defaults are taken and missing answers are collected
 * so that one usage error can name every missing flag. Its own words follow
 * the command line's language (tr of common.ts).
 */
import { createInterface, type Interface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { tr, UsageError } from '../common.js';
import { INIT_TEXT as T } from './texts.js';

export interface Question {
  /** Shown to the user, e.g. "Directory (tenant) ID". */
  label: string;
  /** The flag that answers it, e.g. "--tenant"; its value when given. */
  flag?: string | undefined;
  given?: string | undefined;
  default?: string | undefined;
  /** An empty answer is accepted (and returned as ''). */
  optional?: boolean;
  /** A problem with the answer, or undefined when it is good. */
  check?: (value: string) => string | undefined;
  /** Read without echo on a terminal. */
  hidden?: boolean;
}

export interface Choice<T extends string> {
  value: T;
  label: string;
}

/** Output that can be silenced while a secret is typed (the terminal echo goes through it). */
class MutableOutput extends Writable {
  muted = false;
  constructor(private readonly target: NodeJS.WritableStream) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (!this.muted) this.target.write(chunk);
    done();
  }
}

export class Prompter {
  /** Flags missing under --yes, in the order they were needed. */
  readonly missing: string[] = [];
  private readonly rl: Interface | undefined;
  private readonly lines: AsyncIterator<string> | undefined;
  private readonly output: MutableOutput | undefined;
  /** Standard input has ended: the interface is closed, but answers read before the end are still queued. */
  private inputEnded = false;

  constructor(
    readonly unattended: boolean,
    input: NodeJS.ReadableStream & { isTTY?: boolean },
    private readonly out: NodeJS.WritableStream,
  ) {
    if (unattended) return;
    this.output = new MutableOutput(out);
    this.rl = createInterface({ input, output: this.output, terminal: input.isTTY === true });
    this.rl.on('SIGINT', () => {
      out.write(tr(T.stopped));
      process.exit(130);
    });
    this.lines = this.rl[Symbol.asyncIterator]();
    this.rl.on('close', () => (this.inputEnded = true));
  }

  close(): void {
    this.rl?.close();
  }

  say(text = ''): void {
    this.out.write(`${text}\n`);
  }

  /** Asks one question (or takes its flag); with --yes a missing required answer is recorded and '' returned. */
  async ask(q: Question): Promise<string> {
    if (q.given !== undefined) {
      const problem = q.check?.(q.given);
      if (problem) throw new UsageError(`${q.flag ?? q.label}: ${problem}`);
      return q.given;
    }
    if (this.unattended) {
      if (q.default !== undefined || q.optional) return q.default ?? '';
      this.missing.push(q.flag ?? q.label);
      return '';
    }
    for (;;) {
      const suffix = q.default !== undefined && q.default !== '' ? ` [${q.default}]` : q.optional ? tr(T.emptyNone) : '';
      const raw = (await this.readLine(`${q.label}${suffix}: `, q.hidden === true)).trim();
      const value = raw === '' ? q.default ?? '' : raw;
      if (value === '' && !q.optional) {
        this.say(tr(T.answerNeeded));
        continue;
      }
      const problem = value === '' ? undefined : q.check?.(value);
      if (problem) {
        this.say(`  ${problem}`);
        continue;
      }
      return value;
    }
  }

  /** One of a few choices, by number or by name. */
  async choose<T extends string>(label: string, choices: Choice<T>[], opts: { flag?: string; given?: string | undefined; default?: T }): Promise<T> {
    const names = choices.map((c) => c.value);
    const pick = (v: string): T | undefined => {
      const n = Number(v);
      if (Number.isInteger(n) && n >= 1 && n <= choices.length) return choices[n - 1]!.value;
      return choices.find((c) => c.value === v.toLowerCase())?.value;
    };
    if (!this.unattended && opts.given === undefined) {
      this.say(label);
      choices.forEach((c, i) => this.say(`  ${i + 1}) ${c.value.padEnd(12)} ${c.label}`));
    }
    const answer = await this.ask({
      label: tr(T.yourChoice, { n: choices.length }),
      flag: opts.flag,
      given: opts.given,
      default: opts.default,
      check: (v) => (pick(v) ? undefined : tr(T.chooseOneOf, { names: names.join(', ') })),
    });
    return pick(answer) ?? (answer as T);
  }

  async yesNo(label: string, opts: { flag?: string; given?: boolean | undefined; default: boolean }): Promise<boolean> {
    if (opts.given !== undefined) return opts.given;
    const answer = await this.ask({
      label: `${label} (y/n)`,
      flag: opts.flag,
      default: opts.default ? 'y' : 'n',
      check: (v) => (/^(y|yes|n|no)$/i.test(v) ? undefined : tr(T.answerYesNo)),
    });
    return /^y/i.test(answer);
  }

  private async readLine(prompt: string, hidden: boolean): Promise<string> {
    const rl = this.rl!;
    // Once piped answers have all been read, the interface is closed (Node 24 then refuses
    // prompt()); the queued answers are still there, so the question is written directly.
    if (this.inputEnded) this.output!.write(prompt);
    else {
      rl.setPrompt(prompt);
      rl.prompt();
    }
    const echoOff = hidden && rl.terminal;
    if (echoOff) this.output!.muted = true;
    try {
      const next = await this.lines!.next();
      if (next.done) throw new UsageError(T.inputEnded);
      return next.value;
    } finally {
      if (echoOff) {
        this.output!.muted = false;
        this.out.write('\n');
      }
    }
  }
}

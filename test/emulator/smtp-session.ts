/**
 * One SMTP connection to the emulator, written by hand so every reply is
 * exactly Microsoft's: greeting, EHLO/HELO, STARTTLS (TLS 1.2+; a legacy
 * TLS 1.0/1.1 client gets 421 4.7.66), AUTH, MAIL, RCPT, DATA (dot-unstuffed,
 * the exact bytes kept), BDAT chunks, RSET, NOOP, QUIT. What is accepted and
 * refused after EHLO is decided by the port's policy (submission or Direct Send).
 */
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { FaultKind } from './api.js';
import type { EmulatorContext } from './context.js';
import { R, ehloLines, greeting, type SmtpMode, MAX_SIZE } from './smtp-replies.js';

export type Stage = 'connect' | 'ehlo' | 'auth' | 'mail' | 'rcpt' | 'data';

/** What differs between the submission port and the Direct Send port. */
export interface SmtpPolicy {
  readonly mode: SmtpMode;
  /** AUTH <mechanism> [initial]; may ask for more lines with session.ask(). Returns the final reply. */
  auth(s: SmtpSession, mechanism: string, initial: string | undefined): Promise<string>;
  mail(s: SmtpSession, from: string): string;
  rcpt(s: SmtpSession, to: string): string;
  /** The whole message has arrived; records it or refuses it. */
  accept(s: SmtpSession, data: Buffer): Promise<string>;
  closed(s: SmtpSession): void;
}

export class SmtpSession {
  socket: Socket;
  tls = false;
  legacyTls = false;
  helo: string | undefined;
  from: string | undefined;
  rcpts: string[] = [];
  /** Set by the policy after a successful AUTH. */
  auth: { mailbox: string; tenantId: string; clientId: string; principal: string } | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private mode: 'command' | 'data' | 'bdat' = 'command';
  private dataParts: Buffer[] = [];
  private dataBytes = 0;
  private bdatLeft = 0;
  private bdatLast = false;
  private busy = false;
  private lineWaiter: ((line: string) => void) | undefined;
  private ended = false;

  constructor(
    socket: Socket,
    private readonly ctx: EmulatorContext,
    private readonly policy: SmtpPolicy,
    private readonly secureContext: SecureContext,
  ) {
    this.socket = socket;
    this.attach(socket);
    const fault = this.fault('connect', (f) => 'reset' in f);
    if (fault && 'reset' in fault) {
      socket.destroy();
      return;
    }
    if (fault && 'smtpReply' in fault) {
      this.reply(fault.smtpReply);
      if (/^[45]/.test(fault.smtpReply)) this.end();
      return;
    }
    this.reply(greeting(policy.mode));
  }

  get clientIp(): string {
    return (this.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  }

  /** A matching SMTP fault rule for this stage (counted down), if any. */
  fault(stage: Stage, extra: (f: FaultKind) => boolean = () => false, recipient?: string): FaultKind | undefined {
    return this.ctx.state.takeFault('smtp', this.auth?.mailbox, (f) => ('smtpReply' in f && f.at === stage) || extra(f), recipient);
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.feedWaiter();
      void this.pump();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (socket === this.socket) {
        this.ended = true;
        this.policy.closed(this);
      }
    });
  }

  reply(text: string): void {
    if (this.ended || this.socket.destroyed) return;
    this.socket.write(`${text}\r\n`);
  }

  private end(): void {
    this.ended = true;
    this.socket.end();
  }

  record(method: string, reply: string, bytes = 0): void {
    this.ctx.state.record({
      service: 'smtp', method, path: this.policy.mode, status: Number(reply.slice(0, 3)) || 0, bytes,
      authorization: this.auth !== undefined,
      ...(this.auth ? { mailbox: this.auth.mailbox, clientId: this.auth.clientId } : {}),
    });
  }

  /** Sends a 334 challenge and waits for the client's next line (read here while the command is still running). */
  ask(challenge: string): Promise<string> {
    return new Promise((resolve) => {
      this.lineWaiter = resolve;
      this.reply(challenge);
      this.feedWaiter();
    });
  }

  private feedWaiter(): void {
    if (!this.lineWaiter) return;
    const nl = this.buf.indexOf('\r\n');
    if (nl < 0) return;
    const line = this.buf.subarray(0, nl).toString('utf8');
    this.buf = this.buf.subarray(nl + 2);
    const w = this.lineWaiter;
    this.lineWaiter = undefined;
    w(line);
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.ended) {
        if (this.mode === 'bdat') {
          if (this.buf.length === 0) break;
          const take = this.buf.subarray(0, this.bdatLeft);
          this.buf = this.buf.subarray(take.length);
          this.dataParts.push(take);
          this.dataBytes += take.length;
          this.bdatLeft -= take.length;
          if (this.bdatLeft > 0) break;
          this.mode = 'command';
          await this.bdatDone();
          continue;
        }
        const nl = this.buf.indexOf('\r\n');
        if (nl < 0) break;
        const line = this.buf.subarray(0, nl);
        this.buf = this.buf.subarray(nl + 2);
        if (this.mode === 'data') {
          if (line.length === 1 && line[0] === 0x2e) {
            this.mode = 'command';
            await this.finish('DATA');
            continue;
          }
          const content = line[0] === 0x2e ? line.subarray(1) : line;
          this.dataParts.push(content, Buffer.from('\r\n'));
          this.dataBytes += content.length + 2;
          continue;
        }
        await this.command(line.toString('utf8'));
      }
    } finally {
      this.busy = false;
    }
  }

  private resetTransaction(): void {
    this.from = undefined;
    this.rcpts = [];
    this.dataParts = [];
    this.dataBytes = 0;
  }

  private async command(line: string): Promise<void> {
    const sp = line.indexOf(' ');
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? '' : line.slice(sp + 1).trim();
    if (this.legacyTls) {
      this.reply(R.legacyTls);
      this.record(verb, R.legacyTls);
      this.end();
      return;
    }
    const say = (text: string) => {
      this.reply(text);
      this.record(verb, text);
    };
    switch (verb) {
      case 'EHLO':
      case 'HELO': {
        if (!arg) return say(R.badDomain);
        const f = this.fault('ehlo');
        if (f && 'smtpReply' in f) return this.faultReply(verb, f.smtpReply);
        this.helo = arg;
        this.resetTransaction();
        const lines = ehloLines(this.policy.mode, this.tls, this.clientIp);
        if (verb === 'HELO') return say(`250 ${lines[0]}`);
        return say(lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}`).join('\r\n'));
      }
      case 'STARTTLS':
        if (this.tls) return say('503 5.5.1 TLS already active');
        if (arg) return say(R.syntax);
        say(R.starttls);
        return this.upgrade();
      case 'AUTH': {
        if (!this.helo) return say(R.badSequence);
        const [mech = '', initial] = arg.split(/\s+/);
        const f = this.fault('auth');
        if (f && 'smtpReply' in f) return this.faultReply(verb, f.smtpReply);
        return say(await this.policy.auth(this, mech.toUpperCase(), initial));
      }
      case 'MAIL': {
        if (!this.helo) return say(R.badSequence);
        if (this.from !== undefined) return say(R.senderAlready);
        const m = /^FROM:\s*<([^>]*)>(.*)$/i.exec(arg);
        if (!m) return say(R.syntax);
        const size = /\bSIZE=(\d+)/i.exec(m[2] ?? '');
        if (size && Number(size[1]) > MAX_SIZE) return say(R.tooBig(this.policy.mode));
        const f = this.fault('mail');
        if (f && 'smtpReply' in f) return this.faultReply(verb, f.smtpReply);
        const r = this.policy.mail(this, m[1]!);
        if (r.startsWith('250')) this.from = m[1]!;
        return say(r);
      }
      case 'RCPT': {
        if (this.from === undefined) return say(R.needMail);
        const m = /^TO:\s*<([^>]+)>/i.exec(arg);
        if (!m) return say(R.syntax);
        const f = this.fault('rcpt', undefined, m[1]!);
        if (f && 'smtpReply' in f) return this.faultReply(verb, f.smtpReply);
        const r = this.policy.rcpt(this, m[1]!);
        if (r.startsWith('250')) this.rcpts.push(m[1]!);
        return say(r);
      }
      case 'DATA': {
        if (this.from === undefined) return say(R.needMail);
        if (this.rcpts.length === 0) return say(R.needRcpt);
        const f = this.fault('data');
        if (f && 'smtpReply' in f) return this.faultReply(verb, f.smtpReply);
        this.mode = 'data';
        this.dataParts = [];
        this.dataBytes = 0;
        return say(R.startData);
      }
      case 'BDAT': {
        const m = /^(\d+)(\s+LAST)?$/i.exec(arg);
        if (!m) return say(R.syntax);
        if (this.from === undefined || this.rcpts.length === 0) {
          // The chunk still arrives and must be skipped.
          this.bdatLeft = Number(m[1]);
          this.bdatLast = false;
          this.mode = 'bdat';
          this.dataParts = [];
          return say(this.from === undefined ? R.needMail : R.needRcpt);
        }
        this.bdatLeft = Number(m[1]);
        this.bdatLast = m[2] !== undefined;
        this.mode = 'bdat';
        if (this.bdatLeft === 0) {
          this.mode = 'command';
          return this.bdatDone();
        }
        return;
      }
      case 'RSET':
        this.resetTransaction();
        return say('250 2.0.0 Resetting');
      case 'NOOP':
        return say('250 2.0.0 OK');
      case 'QUIT':
        say(R.bye);
        return this.end();
      default:
        return say(R.unrecognized(this.policy.mode, verb));
    }
  }

  private faultReply(verb: string, text: string): void {
    this.reply(text);
    this.record(verb, text);
    if (text.startsWith('421')) this.end();
  }

  private async bdatDone(): Promise<void> {
    if (this.from === undefined || this.rcpts.length === 0) {
      this.dataParts = [];
      return;
    }
    if (this.bdatLast) return this.finish('BDAT');
    const r = `250 2.0.0 ${this.dataBytes} bytes received`;
    this.reply(r);
    this.record('BDAT', r);
  }

  private async finish(verb: string): Promise<void> {
    const data = Buffer.concat(this.dataParts);
    this.dataParts = [];
    const r = await this.policy.accept(this, data);
    const f = this.ctx.state.takeFault('smtp', this.auth?.mailbox, (x) => 'delayMs' in x);
    if (f && 'delayMs' in f) await new Promise((res) => setTimeout(res, f.delayMs));
    this.reply(r);
    this.record(verb, r, data.length);
    this.resetTransaction();
  }

  private upgrade(): void {
    const plain = this.socket;
    plain.removeAllListeners('data');
    this.buf = Buffer.alloc(0); // anything pipelined after STARTTLS is discarded (no plaintext injection)
    const secure = new TLSSocket(plain, { isServer: true, secureContext: this.secureContext });
    this.socket = secure;
    this.attach(secure);
    secure.once('secure', () => {
      this.tls = true;
      const p = secure.getProtocol();
      this.legacyTls = p === 'TLSv1' || p === 'TLSv1.1';
      this.helo = undefined;
      this.resetTransaction();
    });
  }
}

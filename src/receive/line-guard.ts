/**
 * Guards the DATA stream against bare CR, bare LF and NUL (the raw material
 * of SMTP smuggling). In "normalize" mode they become CRLF (NUL is dropped);
 * in "reject" mode the first one is recorded and nothing more is passed on,
 * so the receiver can refuse the message once the client has finished.
 * End of data is decided by smtp-server on CRLF.CRLF only; this runs after it.
 * What it passes on goes to `emit` as it is found (the receive stage calls it
 * for each chunk of DATA, see ingest.ts).
 */
import { isAscii } from 'node:buffer';

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;
const CRLF = Buffer.from('\r\n');

export interface LineGuardStats {
  bareLf: number;
  bareCr: number;
  nul: number;
}

export class LineEndingGuard {
  readonly stats: LineGuardStats = { bareLf: 0, bareCr: 0, nul: 0 };
  /** Set in reject mode when the first offending byte is seen. */
  violation: string | undefined;
  /** Whether a byte above 127 went through (the upstream is then told BODY=8BITMIME). */
  eightBit = false;
  private pendingCr = false;

  constructor(
    private readonly mode: 'normalize' | 'reject',
    private readonly emit: (chunk: Buffer) => void,
  ) {}

  /** The next chunk of DATA. */
  write(chunk: Buffer): void {
    if (this.violation) return;
    if (chunk.length === 0) return;
    if (!this.eightBit && !isAscii(chunk)) this.eightBit = true;
    if (this.pendingCr) {
      // A CR ended the previous chunk; it is part of CRLF only if this chunk starts with LF.
      this.pendingCr = false;
      if (chunk[0] === LF) {
        this.emit(CRLF);
        chunk = chunk.subarray(1);
      } else {
        if (!this.offend('bareCr')) return;
        this.emit(CRLF);
      }
    }
    if (chunk.length === 0) return;
    let end = chunk.length;
    if (chunk[end - 1] === CR) {
      this.pendingCr = true;
      end -= 1;
    }
    const body = chunk.subarray(0, end);
    if (isClean(body)) {
      if (body.length) this.emit(body);
      return;
    }
    const out = this.repair(body);
    if (out && out.length) this.emit(out);
  }

  /** The end of DATA: a CR that ended the last chunk is a bare CR. */
  end(): void {
    if (this.pendingCr && !this.violation) {
      if (this.offend('bareCr')) this.emit(CRLF);
    }
    this.pendingCr = false;
  }

  /** Returns false in reject mode (stop passing data on). */
  private offend(kind: keyof LineGuardStats): boolean {
    this.stats[kind]++;
    if (this.mode === 'reject') {
      this.violation ??= kind === 'bareLf' ? 'a bare LF' : kind === 'bareCr' ? 'a bare CR' : 'a NUL character';
      return false;
    }
    return true;
  }

  private repair(buf: Buffer): Buffer | undefined {
    const out = Buffer.allocUnsafe(buf.length * 2);
    let o = 0;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i]!;
      if (b === CR) {
        if (buf[i + 1] === LF) {
          out[o++] = CR;
          out[o++] = LF;
          i++;
        } else {
          if (!this.offend('bareCr')) return undefined;
          out[o++] = CR;
          out[o++] = LF;
        }
      } else if (b === LF) {
        if (!this.offend('bareLf')) return undefined;
        out[o++] = CR;
        out[o++] = LF;
      } else if (b === NUL) {
        if (!this.offend('nul')) return undefined;
      } else {
        out[o++] = b;
      }
    }
    return out.subarray(0, o);
  }
}

/** True when every CR is followed by LF, every LF preceded by CR, and there is no NUL. */
function isClean(buf: Buffer): boolean {
  if (buf.indexOf(NUL) !== -1) return false;
  let i = buf.indexOf(LF);
  while (i !== -1) {
    if (i === 0 || buf[i - 1] !== CR) return false;
    i = buf.indexOf(LF, i + 1);
  }
  i = buf.indexOf(CR);
  while (i !== -1) {
    if (buf[i + 1] !== LF) return false;
    i = buf.indexOf(CR, i + 1);
  }
  return true;
}

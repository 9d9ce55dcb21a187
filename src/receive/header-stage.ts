/**
 * Holds back the header section until it is complete, lets a callback edit
 * it (Received trace, sender rewriting), then passes the body on untouched
 * (to `emit`, as it comes). A header section larger than the limit stops it.
 */
import { HeaderBlock } from './header-block.js';

const SEP = Buffer.from('\r\n\r\n');

export class HeaderStage {
  private buffered: Buffer[] = [];
  private bufferedLength = 0;
  private done = false;
  /** Set when the header section exceeded the limit. */
  tooBig = false;
  headers: HeaderBlock | undefined;

  constructor(
    private readonly edit: (h: HeaderBlock) => void,
    private readonly emit: (chunk: Buffer) => void,
    private readonly maxHeaderBytes = 1024 * 1024,
  ) {}

  /** The next chunk of the message. */
  write(chunk: Buffer): void {
    if (this.tooBig) return;
    if (this.done) {
      this.emit(chunk);
      return;
    }
    this.buffered.push(chunk);
    this.bufferedLength += chunk.length;
    const all = this.buffered.length === 1 ? chunk : Buffer.concat(this.buffered);
    this.buffered = [all];
    // A message that starts with CRLF has an empty header section.
    const end = all[0] === 0x0d && all[1] === 0x0a ? 0 : searchSep(all, Math.max(0, this.bufferedLength - chunk.length - 3));
    if (end === -1) {
      if (this.bufferedLength > this.maxHeaderBytes) {
        this.tooBig = true;
        this.buffered = [];
      }
      return;
    }
    const headerEnd = end === 0 ? 0 : end + 2; // keep the CRLF that ends the last field
    // The limit is on the header section itself, not on how much of it had arrived
    // when the blank line was found (that depends on how the bytes were chunked).
    if (headerEnd > this.maxHeaderBytes) {
      this.tooBig = true;
      this.buffered = [];
      return;
    }
    this.release(all.subarray(0, headerEnd), all.subarray(headerEnd));
  }

  /** The end of the message. */
  end(): void {
    if (!this.done && !this.tooBig) {
      // The message was all header (no blank line): edit it all the same.
      const all = Buffer.concat(this.buffered);
      this.release(all, Buffer.alloc(0));
    }
  }

  private release(header: Buffer, rest: Buffer): void {
    this.done = true;
    this.buffered = [];
    const block = HeaderBlock.parse(header);
    this.edit(block);
    this.headers = block;
    this.emit(block.toBuffer());
    if (rest.length) this.emit(rest);
  }
}

function searchSep(buf: Buffer, from: number): number {
  return buf.indexOf(SEP, from);
}

/**
 * The end of a draft, kept from the plan's pass (split.ts) so that making the
 * draft does not read the removed parts again. A scan is a short text part
 * and one large attachment at the end: the draft is the message up to that
 * attachment plus a few bytes after it (the closing boundary). Reading the
 * stored message through the attachment only to find those bytes costs a
 * full pass at disk speed, in which every chunk read is garbage at once and
 * piles up faster than the young generation is collected.
 *
 * While the plan is made, GapRecorder keeps the bytes between one candidate
 * part and the next (and after the last), each gap up to GAP_MAX bytes. When
 * every kept byte after the first removed part lies in such gaps (no kept
 * candidate part comes after it), the draft is the message's bytes up to the
 * first removed part (read, then the reading stops) followed by those gaps.
 * Otherwise the draft is cut from a full pass as before.
 */
import type { ByteRange } from './byte-ranges.js';

/** Largest gap kept (delimiters, a closing boundary, a short text part between attachments). */
export const GAP_MAX = 64 * 1024;

/** The draft as a prefix of the message plus these bytes. */
export interface DraftTail {
  /** Where the first removed part starts: the message is read up to here. */
  prefixEnd: number;
  /** Every kept byte after it, in order. */
  bytes: Buffer;
}

interface Gap {
  chunks: Buffer[];
  size: number;
  over: boolean;
}

export class GapRecorder<Part> {
  private readonly gaps = new Map<Part, Gap>();
  private owner: Part | undefined;
  private gap: Gap | undefined;

  /** Bytes outside every candidate part's span (ignored before the first candidate part). */
  add(bytes: Buffer): void {
    const g = this.gap;
    if (!g || g.over) return;
    if (g.size + bytes.length > GAP_MAX) {
      g.over = true;
      g.chunks = [];
      return;
    }
    g.chunks.push(Buffer.from(bytes));
    g.size += bytes.length;
  }

  /** A candidate part begins: the last `delimiter` bytes recorded are its own (its delimiter line); recording resumes after it. */
  startPart(part: Part, delimiter: number): void {
    this.close(delimiter);
    this.owner = part;
    this.gap = { chunks: [], size: 0, over: false };
  }

  /** The end of the message: the gap after the last candidate part is complete. */
  end(): void {
    this.close(0);
  }

  /**
   * The draft's tail for these candidate parts (in message order) when the
   * removed ones allow it (see the file header); undefined otherwise.
   */
  tail(candidates: readonly Part[], removed: ReadonlySet<Part>, rangeOf: (p: Part) => ByteRange | undefined): DraftTail | undefined {
    const first = candidates.findIndex((p) => removed.has(p));
    if (first < 0) return undefined;
    const start = rangeOf(candidates[first]!)?.start;
    if (start === undefined) return undefined;
    const parts: Buffer[] = [];
    for (let i = first; i < candidates.length; i++) {
      const p = candidates[i]!;
      if (!removed.has(p)) return undefined;
      const g = this.gaps.get(p);
      if (!g || g.over) return undefined;
      parts.push(...g.chunks);
    }
    return { prefixEnd: start, bytes: Buffer.concat(parts) };
  }

  private close(delimiter: number): void {
    const g = this.gap;
    if (this.owner === undefined || !g) return;
    if (!g.over && delimiter > 0) {
      let cut = delimiter;
      while (cut > 0 && g.chunks.length) {
        const last = g.chunks[g.chunks.length - 1]!;
        if (last.length <= cut) {
          g.chunks.pop();
          cut -= last.length;
        } else {
          g.chunks[g.chunks.length - 1] = last.subarray(0, last.length - cut);
          cut = 0;
        }
      }
      g.size = Math.max(0, g.size - delimiter);
      if (cut > 0) g.over = true; // the delimiter was not all recorded: the gap cannot be trusted
    }
    this.gaps.set(this.owner, g);
    this.gap = undefined;
  }
}

import { Buffer } from 'node:buffer';

const INITIAL_CAPACITY = 64 * 1024;

/**
 * Collects the bytes of one element that arrives over several chunks. The target length has
 * already been checked against the limits; capacity still grows with the bytes actually
 * received (doubling), so a peer that claims a large element and stalls costs little memory.
 * The first capacity is sized from the first piece (up to 4× it), so a frame of a few hundred
 * KB that spans two or three chunks is copied exactly once, with no regrowth.
 */
export class ElementAssembler {
  private buf: Buffer;
  private filled = 0;

  constructor(
    readonly target: number,
    firstPieceBytes = 0,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(target, Math.max(INITIAL_CAPACITY, firstPieceBytes * 4)));
  }

  get length(): number {
    return this.filled;
  }

  get complete(): boolean {
    return this.filled === this.target;
  }

  /** Copies as much of `chunk` as the element still needs; returns how many bytes were taken. */
  append(chunk: Buffer): number {
    const take = Math.min(chunk.length, this.target - this.filled);
    const needed = this.filled + take;
    if (needed > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.target, Math.max(needed, this.buf.length * 2)));
      this.buf.copy(grown, 0, 0, this.filled);
      this.buf = grown;
    }
    chunk.copy(this.buf, this.filled, 0, take);
    this.filled = needed;
    return take;
  }

  /** The assembled element; only valid once complete (capacity then equals target exactly). */
  result(): Buffer {
    if (!this.complete) throw new Error('ElementAssembler.result() before the element is complete');
    return this.buf.subarray(0, this.target);
  }
}

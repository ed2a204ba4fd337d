/**
 * Read buffers a streaming reader reuses from one fragment to the next. A fresh multi-megabyte
 * Buffer per archived fragment is external memory V8 answers with full GCs (they took ~40 % of
 * the server's CPU in the GetMedia read benchmark); reusing them costs nothing per fragment.
 * A buffer may only be given back once the transport has taken its bytes (the sink's write
 * resolved and the sink is still open), never while a socket write may still reference it.
 */
export class ReadBuffers {
  private readonly spare: Buffer[] = [];

  /**
   * @param keep buffers kept for reuse (a reader with one read ahead needs 2)
   * @param maxKeptBytes larger buffers are used once and left to the GC, so an odd huge
   *   fragment does not stay pinned for the life of a connection
   */
  constructor(
    private readonly keep = 2,
    private readonly maxKeptBytes = 16 * 1024 * 1024,
  ) {}

  /** A buffer of at least `length` bytes (its contents are garbage). */
  take(length: number): Buffer {
    const i = this.spare.findIndex((b) => b.length >= length);
    if (i >= 0) return this.spare.splice(i, 1)[0]!;
    // Grow past the request a little, so slowly growing fragments do not reallocate each time.
    return Buffer.allocUnsafeSlow(length > this.maxKeptBytes ? length : Math.min(this.maxKeptBytes, Math.ceil(length * 1.25)));
  }

  give(buffer: Buffer): void {
    if (buffer.length > this.maxKeptBytes) return;
    if (this.spare.length < this.keep) {
      this.spare.push(buffer);
      return;
    }
    // Keep the largest ones: they serve every fragment up to their size.
    const smallest = this.spare.reduce((m, b, i) => (b.length < this.spare[m]!.length ? i : m), 0);
    if (this.spare[smallest]!.length < buffer.length) this.spare[smallest] = buffer;
  }
}

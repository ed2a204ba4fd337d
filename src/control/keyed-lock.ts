/**
 * Serializes async critical sections per key. Repository calls are awaited, so two requests could
 * otherwise both read a stream, both change it and the second save would silently drop the first
 * (lost tags, a CurrentVersion check passed twice). Keys are independent: one stream's slow delete
 * does not hold up the others.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      // Forget the key once nothing is queued behind us, so the map does not grow with every stream.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

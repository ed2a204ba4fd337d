/** Waiting on conditions (never on fixed sleeps): poll until a check holds, or fail naming what was awaited. */
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await pause(100);
  }
}

/** The first value `get` returns that satisfies `ok` (failed reads count as not yet). */
export async function eventually<T>(get: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  let last: T | undefined;
  await until(async () => {
    try {
      last = await get();
    } catch {
      return false;
    }
    return ok(last);
  }, what, timeoutMs);
  return last!;
}

/** The first value `probe` returns that is neither undefined nor false. */
export async function firstValue<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  let found: T | undefined;
  await until(async () => {
    const v = await probe();
    if (v === undefined || v === false) return false;
    found = v;
    return true;
  }, what, timeoutMs);
  return found!;
}

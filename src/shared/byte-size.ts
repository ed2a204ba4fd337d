/**
 * Sizes as operators write them: `500MB`, `2GiB`, `1.5g`, `1048576`. Decimal units (kB, MB, GB, TB)
 * are powers of 1000, binary ones (KiB, MiB, GiB, TiB, and the bare letters k/m/g/t) powers of 1024,
 * like df and most tools. Pure, so the CLI and config schema share one parser.
 */

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Parses a byte count; returns undefined when the text is not one (the caller words the error). */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A free-space floor: a share of the filesystem or an absolute byte count. */
export type FreeSpaceFloor = { percent: number } | { bytes: number };

/** `5%` (0-100, decimals allowed) or a byte size; undefined when neither. */
export function parseFreeSpaceFloor(text: string): FreeSpaceFloor | undefined {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (pct) {
    const percent = Number(pct[1]);
    return percent <= 100 ? { percent } : undefined;
  }
  const bytes = parseByteSize(text);
  return bytes === undefined ? undefined : { bytes };
}

/** The floor in bytes on a filesystem of `totalBytes`. */
export function floorBytes(floor: FreeSpaceFloor, totalBytes: number): number {
  return 'percent' in floor ? Math.ceil((totalBytes * floor.percent) / 100) : floor.bytes;
}

/** `12.3 MiB`, for logs and messages. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

import { describe, expect, it } from 'vitest';
import { floorBytes, parseByteSize, parseFreeSpaceFloor } from '../../../src/shared/byte-size.ts';
import { parseServeArgs } from '../../../src/cli/serve.ts';
import { UsageError } from '../../../src/cli/args.ts';

describe('parseByteSize', () => {
  it('reads plain bytes, decimal and binary units, case-insensitively', () => {
    expect(parseByteSize('1048576')).toBe(1048576);
    expect(parseByteSize('500MB')).toBe(500_000_000);
    expect(parseByteSize('500 mb')).toBe(500_000_000);
    expect(parseByteSize('2GiB')).toBe(2 * 2 ** 30);
    expect(parseByteSize('2g')).toBe(2 * 2 ** 30);
    expect(parseByteSize('1.5KiB')).toBe(1536);
    expect(parseByteSize('3kB')).toBe(3000);
    expect(parseByteSize('1TB')).toBe(1e12);
    expect(parseByteSize('0')).toBe(0);
  });

  it('refuses what is not a size', () => {
    for (const bad of ['', 'abc', '-5', '5 parsecs', '1e9', '5%', '12 GiB extra', 'MB', '99999999999999TiB']) {
      expect(parseByteSize(bad), bad).toBeUndefined();
    }
  });
});

describe('parseFreeSpaceFloor', () => {
  it('takes a percentage or a size', () => {
    expect(parseFreeSpaceFloor('5%')).toEqual({ percent: 5 });
    expect(parseFreeSpaceFloor('0.5 %')).toEqual({ percent: 0.5 });
    expect(parseFreeSpaceFloor('2GiB')).toEqual({ bytes: 2 * 2 ** 30 });
    expect(parseFreeSpaceFloor('4096')).toEqual({ bytes: 4096 });
    expect(parseFreeSpaceFloor('101%')).toBeUndefined();
    expect(parseFreeSpaceFloor('five')).toBeUndefined();
  });

  it('turns into bytes against the filesystem size', () => {
    expect(floorBytes({ percent: 5 }, 1000)).toBe(50);
    expect(floorBytes({ percent: 5 }, 1001)).toBe(51);
    expect(floorBytes({ bytes: 777 }, 1000)).toBe(777);
  });
});

describe('kestrel serve --min-free-space / --max-bytes', () => {
  it('defaults to a 5% floor and no per-stream cap', () => {
    const c = parseServeArgs([], {});
    expect(c.storage.minFreeSpace).toEqual({ percent: 5 });
    expect(c.storage.maxBytesPerStream).toBeUndefined();
  });

  it('reads flags, then env', () => {
    const f = parseServeArgs(['--min-free-space', '2GiB', '--max-bytes', '500MB'], { KESTREL_MIN_FREE_SPACE: '9%' });
    expect(f.storage.minFreeSpace).toEqual({ bytes: 2 * 2 ** 30 });
    expect(f.storage.maxBytesPerStream).toBe(500_000_000);
    const e = parseServeArgs([], { KESTREL_MIN_FREE_SPACE: '10%', KESTREL_MAX_BYTES: '1048576' });
    expect(e.storage.minFreeSpace).toEqual({ percent: 10 });
    expect(e.storage.maxBytesPerStream).toBe(1048576);
  });

  it('refuses bad values with a usage error', () => {
    expect(() => parseServeArgs(['--min-free-space', 'lots'], {})).toThrow(UsageError);
    expect(() => parseServeArgs(['--max-bytes', '5%'], {})).toThrow(/--max-bytes/);
    expect(() => parseServeArgs([], { KESTREL_MAX_BYTES: '0' })).toThrow(/KESTREL_MAX_BYTES must be a positive size/);
  });
});

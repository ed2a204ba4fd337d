import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import {
  UNKNOWN_SIZE,
  encodeElementId,
  encodeInt,
  encodeSignedVint,
  encodeSize,
  encodeUint,
  encodeUnknownSize,
  readElementId,
  readElementSize,
  readFloat,
  readInt,
  readSignedVint,
  readString,
  readUint,
  readUintBig,
  readUtf8,
  readVint,
  vintWidth,
} from '../../../src/mkv/ebml.ts';
import { MkvError } from '../../../src/mkv/errors.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('vint', () => {
  it('derives the width from the first byte', () => {
    expect([0x80, 0xff, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01].map(vintWidth)).toEqual([1, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(vintWidth(0x00)).toBe(0);
  });

  it('reads values with the marker stripped and flags all-ones', () => {
    expect(readVint(hex('81'), 0)).toEqual({ value: 1, length: 1, allOnes: false });
    expect(readVint(hex('ff'), 0)).toEqual({ value: 127, length: 1, allOnes: true });
    expect(readVint(hex('407f'), 0)).toEqual({ value: 127, length: 2, allOnes: false });
    expect(readVint(hex('01 00 00 00 00 00 01 00'), 0)?.value).toBe(256);
    expect(readVint(hex('01 1f ff ff ff ff ff ff'), 0)?.value).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('returns undefined when the buffer is short, at any cut', () => {
    const full = hex('01 00 00 00 00 00 01 00');
    for (let n = 0; n < full.length; n++) expect(readVint(full.subarray(0, n), 0)).toBeUndefined();
    expect(readVint(hex('aa 40'), 1)).toBeUndefined();
  });

  it('rejects the 0x00 first byte with an absolute offset', () => {
    const err = (() => {
      try {
        readVint(hex('81 00 01'), 1, 1000);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MkvError);
    expect((err as MkvError).kind).toBe('invalid');
    expect((err as MkvError).message).toContain('1001');
  });

  it('treats an all-ones size of every width as unknown', () => {
    for (let w = 1; w <= 8; w++) {
      const size = readElementSize(encodeUnknownSize(w), 0);
      expect(size).toEqual({ size: UNKNOWN_SIZE, length: w, unknown: true });
    }
    expect(encodeUnknownSize()).toEqual(hex('01ffffffffffffff'));
  });

  it('encodes sizes minimally, never producing the reserved all-ones pattern', () => {
    expect(encodeSize(0)).toEqual(hex('80'));
    expect(encodeSize(126)).toEqual(hex('fe'));
    expect(encodeSize(127)).toEqual(hex('407f'));
    expect(encodeSize(16382)).toEqual(hex('7ffe'));
    expect(encodeSize(16383)).toEqual(hex('203fff'));
    for (let w = 1; w <= 7; w++) {
      const max = 2 ** (7 * w) - 2;
      expect(encodeSize(max).length).toBe(w);
      expect(encodeSize(max + 1).length).toBe(w + 1);
      expect(readElementSize(encodeSize(max), 0)).toEqual({ size: max, length: w, unknown: false });
    }
    expect(readElementSize(encodeSize(Number.MAX_SAFE_INTEGER), 0)?.size).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('encodes a size with a chosen width and refuses widths that cannot hold it', () => {
    expect(encodeSize(5, 8)).toEqual(hex('0100000000000005'));
    expect(readElementSize(encodeSize(5, 8), 0)).toEqual({ size: 5, length: 8, unknown: false });
    expect(() => encodeSize(127, 1)).toThrow(RangeError);
    expect(() => encodeSize(1, 9)).toThrow(RangeError);
    expect(() => encodeSize(-1)).toThrow(RangeError);
  });

  it('round-trips signed vints (EBML lacing deltas)', () => {
    expect(encodeSignedVint(0)).toEqual(hex('bf'));
    expect(encodeSignedVint(-63).length).toBe(1);
    expect(encodeSignedVint(63).length).toBe(1);
    expect(encodeSignedVint(64).length).toBe(2);
    for (const v of [0, 1, -1, 63, -63, 64, -64, 8191, -8191, 8192, -100_000, 1_000_000]) {
      expect(readSignedVint(encodeSignedVint(v), 0)?.value).toBe(v);
    }
  });
});

describe('element IDs', () => {
  it('keep their marker bits', () => {
    expect(readElementId(hex('1a45dfa3'), 0)).toEqual({ id: 0x1a45dfa3, length: 4 });
    expect(readElementId(hex('a3'), 0)).toEqual({ id: 0xa3, length: 1 });
    expect(readElementId(hex('2ad7b1'), 0)).toEqual({ id: 0x2ad7b1, length: 3 });
    expect(readElementId(hex('1a45df'), 0)).toBeUndefined();
    for (const id of [0xa3, 0x4282, 0x2ad7b1, 0x1f43b675]) expect(readElementId(encodeElementId(id), 0)?.id).toBe(id);
  });

  it('rejects 0x00 and IDs wider than 4 bytes', () => {
    expect(() => readElementId(hex('00'), 0)).toThrow(MkvError);
    expect(() => readElementId(hex('08'), 0)).toThrow(/invalid element ID/);
    expect(() => encodeElementId(0x1a45)).toThrow(RangeError); // 0x1A would announce 4 bytes
  });
});

describe('payload readers', () => {
  it('read unsigned integers up to MAX_SAFE_INTEGER, bigint beyond', () => {
    expect(readUint(Buffer.alloc(0))).toBe(0);
    expect(readUint(hex('0f4240'))).toBe(1_000_000);
    expect(readUint(hex('001fffffffffffff'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => readUint(hex('0020000000000000'), 77)).toThrow(/MAX_SAFE_INTEGER at offset 77/);
    expect(readUintBig(hex('ffffffffffffffff'))).toBe(2n ** 64n - 1n);
    expect(() => readUint(hex('000000000000000001'))).toThrow(MkvError);
    for (const v of [0, 1, 255, 256, 2 ** 40, Number.MAX_SAFE_INTEGER]) expect(readUint(encodeUint(v))).toBe(v);
  });

  it('read signed integers', () => {
    expect(readInt(hex('ff'))).toBe(-1);
    expect(readInt(hex('ff60'))).toBe(-160);
    expect(readInt(hex('fffffffffffffffe'))).toBe(-2);
    for (const v of [0, 1, -1, 127, 128, -128, -129, 2 ** 40, -(2 ** 50), 2 ** 52]) expect(readInt(encodeInt(v))).toBe(v);
  });

  it('read floats of 0, 4 and 8 bytes', () => {
    const f4 = Buffer.alloc(4);
    f4.writeFloatBE(48000);
    const f8 = Buffer.alloc(8);
    f8.writeDoubleBE(44100.5);
    expect(readFloat(Buffer.alloc(0))).toBe(0);
    expect(readFloat(f4)).toBe(48000);
    expect(readFloat(f8)).toBe(44100.5);
    expect(() => readFloat(hex('000000'))).toThrow(MkvError);
  });

  it('read strings without NUL padding', () => {
    expect(readString(Buffer.from('matroska\0', 'latin1'))).toBe('matroska');
    expect(readUtf8(Buffer.from('caméra\0\0', 'utf8'))).toBe('caméra');
  });
});

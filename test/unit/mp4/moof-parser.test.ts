import { describe, expect, it } from 'vitest';
import type { SampleDefaults } from '../../../src/mp4/init-segment.ts';
import { parseMoof, type MoofContext } from '../../../src/mp4/moof-parser.ts';

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const h = Buffer.alloc(8);
  h.writeUInt32BE(8 + body.length, 0);
  h.write(type, 4, 'latin1');
  return Buffer.concat([h, body]);
}

function fullBox(type: string, version: number, flags: number, fields: Array<['u32' | 's32' | 'u64', number | bigint]>): Buffer {
  const parts = fields.map(([kind, v]) => {
    const b = Buffer.alloc(kind === 'u64' ? 8 : 4);
    if (kind === 'u64') b.writeBigUInt64BE(BigInt(v));
    else if (kind === 's32') b.writeInt32BE(Number(v));
    else b.writeUInt32BE(Number(v));
    return b;
  });
  return box(type, Buffer.from([version, (flags >> 16) & 0xff, (flags >> 8) & 0xff, flags & 0xff]), ...parts);
}

const NON_SYNC = 0x010000;
const defaults: SampleDefaults = { sampleDescriptionIndex: 1, duration: 0, size: 0, flags: 0 };
const ctx = (extra: Partial<Record<number, SampleDefaults>> = {}, next = 0): MoofContext => ({
  defaults: (id) => (id === 1 || id === 2 ? { ...defaults, ...extra[id] } : undefined),
  nextDecodeTime: () => next,
});
const mfhd = fullBox('mfhd', 0, 0, [['u32', 1]]);

describe('parseMoof', () => {
  it('applies default-base-is-moof, tfdt v1, signed v1 composition offsets and first-sample flags', () => {
    const traf = box(
      'traf',
      fullBox('tfhd', 0, 0x020000 | 0x20, [['u32', 1], ['u32', NON_SYNC]]),
      fullBox('tfdt', 1, 0, [['u64', 5_000_000_000n]]),
      // data-offset, first-sample-flags, duration, size, composition offset
      fullBox('trun', 1, 0x01 | 0x04 | 0x100 | 0x200 | 0x800, [
        ['u32', 3], ['s32', 200], ['u32', 0],
        ['u32', 10], ['u32', 100], ['s32', 20],
        ['u32', 10], ['u32', 50], ['s32', -10],
        ['u32', 10], ['u32', 60], ['s32', 0],
      ]),
    );
    const samples = parseMoof(box('moof', mfhd, traf), 1000, ctx());
    expect(samples).toEqual([
      { trackId: 1, dts: 5_000_000_000, cts: 20, duration: 10, size: 100, offset: 1200, sync: true },
      { trackId: 1, dts: 5_000_000_010, cts: -10, duration: 10, size: 50, offset: 1300, sync: false },
      { trackId: 1, dts: 5_000_000_020, cts: 0, duration: 10, size: 60, offset: 1350, sync: false },
    ]);
  });

  it('chains data of trafs and runs without offsets, and honours base_data_offset and trex defaults', () => {
    const traf1 = box(
      'traf',
      fullBox('tfhd', 0, 0x10, [['u32', 1], ['u32', 7]]), // default size 7, base = moof start
      fullBox('trun', 0, 0x01, [['u32', 2], ['s32', 100]]),
      fullBox('trun', 0, 0, [['u32', 1]]), // continues after the previous run
    );
    const traf2 = box('traf', fullBox('tfhd', 0, 0, [['u32', 2]]), fullBox('trun', 0, 0, [['u32', 2]])); // after traf1's data, trex size
    const traf3 = box('traf', fullBox('tfhd', 0, 0x01, [['u32', 2], ['u64', 9000]]), fullBox('trun', 0, 0x01, [['u32', 1], ['s32', 4]]));
    const samples = parseMoof(box('moof', mfhd, traf1, traf2, traf3), 500, ctx({ 2: { ...defaults, size: 3, duration: 2 } }, 40));
    expect(samples.map((s) => [s.trackId, s.offset, s.size, s.dts])).toEqual([
      [1, 600, 7, 40],
      [1, 607, 7, 40],
      [1, 614, 7, 40],
      [2, 621, 3, 40],
      [2, 624, 3, 42],
      [2, 9004, 3, 44], // no tfdt: continues where this track's previous traf ended
    ]);
  });

  it('rejects unknown tracks, other sample descriptions and truncated boxes', () => {
    const forTrack = (id: number) => box('moof', box('traf', fullBox('tfhd', 0, 0, [['u32', id]]), fullBox('trun', 0, 0, [['u32', 0]])));
    expect(() => parseMoof(forTrack(9), 0, ctx())).toThrow(/track 9, which moov does not declare/);
    const sdi2 = box('moof', box('traf', fullBox('tfhd', 0, 0x02, [['u32', 1], ['u32', 2]])));
    expect(() => parseMoof(sdi2, 0, ctx())).toThrow(expect.objectContaining({ kind: 'unsupported' }));
    const shortTrun = box('moof', box('traf', fullBox('tfhd', 0, 0, [['u32', 1]]), fullBox('trun', 0, 0x200, [['u32', 5], ['u32', 1]])));
    expect(() => parseMoof(shortTrun, 0, ctx())).toThrow(/'trun' box at offset \d+ is too short/);
    const overflowing = Buffer.from(box('moof', box('traf', fullBox('tfhd', 0, 0, [['u32', 1]]))));
    overflowing.writeUInt32BE(99, 8); // traf claims more than the moof holds
    expect(() => parseMoof(overflowing, 0, ctx())).toThrow(/does not fit its parent/);
    expect(() => parseMoof(box('moof', box('traf')), 0, ctx())).toThrow(/has no tfhd/);
  });
});

import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { joinLengthPrefixed, nalFramingProblem, nalLengthSize, withoutBrokenSamples } from '../../../src/codec/index.ts';
import { toMediaTrack } from '../../../src/media/demux-mkv.ts';
import type { DemuxedFragment, MediaSample } from '../../../src/media/types.ts';
import { buildTsSegment } from '../../../src/ts/index.ts';
import { readPackets, readPes } from '../ts/ts-reader.ts';
import { H264_PPS, avcC, h264Sps } from './bitstream-builders.ts';

const sps = h264Sps({ widthMbs: 20, heightMapUnits: 15 });
const h264 = toMediaTrack({ number: 1, type: 1, codecId: 'V_MPEG4/ISO/AVC', codecPrivate: avcC({ sps: [sps], pps: [H264_PPS] }) });
const aac = toMediaTrack({ number: 2, type: 2, codecId: 'A_AAC', codecPrivate: Buffer.from('1210', 'hex') });
const nal = (type: number, size: number) => Buffer.concat([Buffer.from([type]), Buffer.alloc(size - 1, 0x11)]);
const sample = (track: number, ms: number, data: Buffer, keyframe = false): MediaSample => ({ track, ptsMs: ms, dtsMs: ms, durationMs: 40, keyframe, data });
/** A length prefix claiming 1000 bytes in a 24-byte sample. */
const overrun = () => Buffer.concat([Buffer.from([0, 0, 0x03, 0xe8]), nal(0x41, 20)]);

function fragment(): DemuxedFragment {
  const samples = [
    sample(1, 0, joinLengthPrefixed([nal(0x65, 200)]), true),
    sample(2, 0, Buffer.alloc(100, 0x33), true),
    sample(1, 40, joinLengthPrefixed([nal(0x41, 50)])),
    sample(2, 23, Buffer.alloc(100, 0x44), true),
    sample(1, 80, overrun()),
    sample(2, 46, Buffer.alloc(100, 0x55), true),
    sample(1, 120, joinLengthPrefixed([nal(0x41, 50)])),
  ];
  return { tracks: [h264, aac], samples, startMs: 0, durationMs: 160 };
}

describe('nalFramingProblem', () => {
  it('accepts prefixes that tile the sample (zero-length units included) for 1, 2 and 4-byte lengths', () => {
    for (const size of [1, 2, 4]) {
      expect(nalFramingProblem(joinLengthPrefixed([nal(0x65, 30), nal(0x41, 5), Buffer.alloc(0)], size), size)).toBeUndefined();
    }
  });

  it('names overruns, truncated prefixes and empty samples without throwing', () => {
    expect(nalFramingProblem(overrun(), 4)).toMatch(/overruns the 24-byte sample/);
    expect(nalFramingProblem(Buffer.concat([joinLengthPrefixed([nal(0x65, 10)]), Buffer.from([0, 0])]), 4)).toMatch(/ends inside a 4-byte NAL length/);
    expect(nalFramingProblem(Buffer.alloc(0), 4)).toBe('empty sample');
    // A view into a larger buffer is read from its own offset.
    const big = Buffer.concat([Buffer.alloc(7, 0xff), joinLengthPrefixed([nal(0x65, 10)]), Buffer.alloc(3, 0xff)]);
    expect(nalFramingProblem(big.subarray(7, 7 + 14), 4)).toBeUndefined();
  });
});

describe('withoutBrokenSamples', () => {
  it('ends a video track at its first broken sample and keeps the other tracks whole', () => {
    const { fragment: f, dropped, problem } = withoutBrokenSamples(fragment());
    expect(dropped).toBe(2);
    expect(problem).toMatch(/track 1 sample at 80 ms: NAL unit of 1000 bytes/);
    expect(f.samples.filter((s) => s.track === 1).map((s) => s.ptsMs)).toEqual([0, 40]);
    expect(f.samples.filter((s) => s.track === 2)).toHaveLength(3);
    expect(f.startMs).toBe(0);
  });

  it('returns the very same fragment when nothing is broken, and leaves tracks it cannot read alone', () => {
    const good = { ...fragment(), samples: fragment().samples.filter((s) => s.ptsMs !== 80) };
    expect(withoutBrokenSamples(good).fragment).toBe(good);
    expect(nalLengthSize({ codecId: 'V_MPEG4/ISO/AVC', codecPrivate: Buffer.from([1, 2]) })).toBeUndefined();
    expect(nalLengthSize({ codecId: 'A_AAC', codecPrivate: Buffer.from('1210', 'hex') })).toBeUndefined();
    expect(nalLengthSize(h264)).toBe(4);
  });
});

describe('MPEG-TS packaging of a broken sample', () => {
  it('does not throw: the video track ends before the bad sample, audio carries on', () => {
    const packets = readPackets(buildTsSegment(fragment()));
    expect(readPes(packets, 0x101)).toHaveLength(2);
    expect(readPes(packets, 0x102)).toHaveLength(3);
  });
});

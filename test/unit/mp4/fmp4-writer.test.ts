import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../../src/codec/index.ts';
import { toMediaTrack } from '../../../src/media/demux-mkv.ts';
import type { DemuxedFragment, MediaSample, MediaTrack } from '../../../src/media/types.ts';
import { buildInitSegment, buildMediaSegment, msToTimescale, withSequenceNumber } from '../../../src/mp4/index.ts';
import { parseInitSegment } from '../../../src/mp4/init-segment.ts';
import { parseMoof, type Mp4Sample } from '../../../src/mp4/moof-parser.ts';
import { H264_PPS, H265_PPS, H265_VPS, avcC, h264Sps, h265Sps, hvcC } from '../codec/bitstream-builders.ts';

interface BoxAt {
  type: string;
  start: number;
  end: number;
}

/** Boxes directly inside buf[from, to) (8-byte headers only: the writer never needs more). */
function boxes(buf: Buffer, from = 0, to = buf.length): BoxAt[] {
  const out: BoxAt[] = [];
  for (let pos = from; pos < to; ) {
    const size = buf.readUInt32BE(pos);
    out.push({ type: buf.toString('latin1', pos + 4, pos + 8), start: pos, end: pos + size });
    pos += size;
  }
  return out;
}

/** The first box along a path like ['moof', 'traf', 'tfdt']. */
function findBox(buf: Buffer, path: string[]): BoxAt | undefined {
  let scope = { start: -8, end: buf.length } as BoxAt;
  for (const type of path) {
    const next = boxes(buf, scope.start + 8, scope.end).find((b) => b.type === type);
    if (!next) return undefined;
    scope = next;
  }
  return scope;
}

const videoPrivate = avcC({ sps: [h264Sps({ profile: 100, level: 31, widthMbs: 80, heightMapUnits: 45 })], pps: [H264_PPS] });
const video = (number = 1): MediaTrack => toMediaTrack({ number, type: 1, codecId: 'V_MPEG4/ISO/AVC', codecPrivate: videoPrivate, video: { width: 1, height: 1 } });
const audio = (number = 2): MediaTrack => toMediaTrack({ number, type: 2, codecId: 'A_AAC', codecPrivate: Buffer.from('1188', 'hex'), audio: { samplingFrequency: 48000, channels: 1 } });

function sample(track: number, ptsMs: number, dtsMs: number, durationMs: number, keyframe: boolean, size: number): MediaSample {
  return { track, ptsMs, dtsMs, durationMs, keyframe, data: Buffer.alloc(size, (track * 37 + dtsMs) & 0xff) };
}

/**
 * An I P B B GOP at 25 fps (decode times one frame earlier) plus the AAC frames (1024 samples at
 * 48 kHz, on a global grid rounded to ms, as MKV stores them) that start inside the fragment.
 */
function fragment(startMs: number, tracks = [video(), audio()]): DemuxedFragment {
  const v = tracks[0]!.number;
  const a = tracks[1]?.number;
  const pts = [40, 160, 80, 120];
  const samples = pts.map((p, i) => sample(v, startMs + p, startMs + i * 40, 40, i === 0, 100 + i));
  if (a !== undefined) {
    const at = (n: number): number => Math.round((n * 1024) / 48);
    for (let n = Math.ceil((startMs * 48) / 1024) - 1; at(n) < startMs + 160; n++) {
      if (at(n) >= startMs) samples.push(sample(a, at(n), at(n), at(n + 1) - at(n), true, 20));
    }
  }
  samples.sort((x, y) => x.dtsMs - y.dtsMs);
  return { tracks, samples, startMs, durationMs: 160 };
}

function moofSamples(segment: Buffer): Array<Mp4Sample & { data: Buffer }> {
  const moof = findBox(segment, ['moof'])!;
  const parsed = parseMoof(segment.subarray(moof.start, moof.end), 0, {
    defaults: () => ({ sampleDescriptionIndex: 1, duration: 0, size: 0, flags: 0 }),
    nextDecodeTime: () => 0,
  });
  return parsed.map((s) => ({ ...s, data: segment.subarray(s.offset, s.offset + s.size) }));
}

describe('buildInitSegment', () => {
  it('writes ftyp (iso6, mp41, dash) and a moov that the ingest reader maps back to the same tracks', () => {
    const init = buildInitSegment([video(1), audio(2)]);
    expect(boxes(init).map((b) => b.type)).toEqual(['ftyp', 'moov']);
    const ftyp = findBox(init, ['ftyp'])!;
    expect(init.toString('latin1', ftyp.start + 8, ftyp.end).replace(/\0/g, '')).toBe('iso6iso6mp41dash');
    const moov = findBox(init, ['moov'])!;
    const tracks = parseInitSegment(init.subarray(moov.start, moov.end));
    expect(tracks.map((t) => [t.trackId, t.timescale, t.entry.codecId])).toEqual([[1, 90000, 'V_MPEG4/ISO/AVC'], [2, 48000, 'A_AAC']]);
    expect(tracks[0]!.entry.codecPrivate).toEqual(videoPrivate);
    expect(tracks[0]!.entry.video).toEqual({ width: 1280, height: 720 }); // from the SPS, not the MKV header
    expect(tracks[1]!.entry.codecPrivate?.toString('hex')).toBe('1188');
    expect(tracks[1]!.entry.audio).toEqual({ samplingFrequency: 48000, channels: 1 });
    expect(boxes(init, findBox(init, ['moov', 'mvex'])!.start + 8, findBox(init, ['moov', 'mvex'])!.end).map((b) => b.type)).toEqual(['trex', 'trex']);
  });

  it('keeps MKV track numbers as track_IDs and writes hvc1 + hvcC for H.265', () => {
    const hevc = toMediaTrack({
      number: 5,
      type: 1,
      codecId: 'V_MPEGH/ISO/HEVC',
      codecPrivate: hvcC({ arrays: [{ type: 32, nals: [H265_VPS] }, { type: 33, nals: [h265Sps({ width: 640, height: 368, window: [0, 0, 0, 4] })] }, { type: 34, nals: [H265_PPS] }] }),
    });
    const init = buildInitSegment([hevc, audio(9)]);
    const moov = findBox(init, ['moov'])!;
    const tracks = parseInitSegment(init.subarray(moov.start, moov.end));
    expect(tracks.map((t) => t.trackId)).toEqual([5, 9]);
    expect(tracks[0]!.entry).toMatchObject({ codecId: 'V_MPEGH/ISO/HEVC', video: { width: 640, height: 360 } });
    expect(findBox(init, ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd'])).toBeDefined();
    expect(init.includes(Buffer.from('hvc1'))).toBe(true);
    expect(init.includes(Buffer.concat([Buffer.from('hvcC'), hevc.codecPrivate!]))).toBe(true);
  });

  it('refuses unsupported codecs with the KVS exception name', () => {
    const vp8 = toMediaTrack({ number: 1, type: 1, codecId: 'V_VP8' });
    expect(() => buildInitSegment([vp8])).toThrow(CodecError);
    expect(() => buildInitSegment([vp8])).toThrow(expect.objectContaining({ kvsName: 'UnsupportedStreamMediaTypeException' }));
    expect(() => buildInitSegment([])).toThrow(RangeError);
  });
});

describe('buildMediaSegment', () => {
  it('writes mfhd, one traf per track (tfhd default-base-is-moof, tfdt v1, trun v1) and an mdat with the samples', () => {
    const f = fragment(1000);
    const seg = buildMediaSegment(f, { sequenceNumber: 7 });
    expect(boxes(seg).map((b) => b.type)).toEqual(['moof', 'mdat']);
    const mfhd = findBox(seg, ['moof', 'mfhd'])!;
    expect(seg.readUInt32BE(mfhd.start + 12)).toBe(7);
    const tfhd = findBox(seg, ['moof', 'traf', 'tfhd'])!;
    expect(seg.readUInt32BE(tfhd.start + 8) & 0xffffff).toBe(0x020000);
    expect(seg[findBox(seg, ['moof', 'traf', 'tfdt'])!.start + 8]).toBe(1);
    expect(seg[findBox(seg, ['moof', 'traf', 'trun'])!.start + 8]).toBe(1);

    const parsed = moofSamples(seg);
    const v = parsed.filter((s) => s.trackId === 1);
    expect(v.map((s) => s.dts)).toEqual([90000, 93600, 97200, 100800]);
    expect(v.map((s) => s.dts + s.cts)).toEqual([1040, 1160, 1080, 1120].map((ms) => ms * 90));
    expect(v.map((s) => s.duration)).toEqual([3600, 3600, 3600, 3600]);
    expect(v.map((s) => s.sync)).toEqual([true, false, false, false]);
    const a = parsed.filter((s) => s.trackId === 2);
    expect(a.map((s) => s.dts)).toEqual([1003, 1024, 1045, 1067, 1088, 1109, 1131, 1152].map((ms) => ms * 48));
    expect(a.every((s) => s.sync && s.cts === 0)).toBe(true);
    // Every sample's bytes are where the trun says.
    const inputs = f.samples.filter((s) => s.track === 1).concat(f.samples.filter((s) => s.track === 2));
    expect(parsed.map((s) => s.data)).toEqual(inputs.map((s) => s.data));
  });

  it('withSequenceNumber gives the segment built with that sequence number, leaving the original untouched', () => {
    const epoch = 1_700_000_000_000;
    const built0 = buildMediaSegment(fragment(epoch), { sequenceNumber: 0 });
    const copy = withSequenceNumber(built0, 4242);
    expect(copy.equals(buildMediaSegment(fragment(epoch), { sequenceNumber: 4242 }))).toBe(true);
    expect(built0.equals(buildMediaSegment(fragment(epoch), { sequenceNumber: 0 }))).toBe(true);
    expect(() => withSequenceNumber(Buffer.alloc(32), 1)).toThrow(/moof/);
  });

  it('carries epoch-ms decode times in 64-bit tfdt without precision loss', () => {
    const epoch = 1_700_000_000_000;
    const seg = buildMediaSegment(fragment(epoch), { sequenceNumber: 1 });
    const tfdt = findBox(seg, ['moof', 'traf', 'tfdt'])!;
    expect(seg.readBigUInt64BE(tfdt.start + 12)).toBe(BigInt(epoch) * 90n);
    expect(moofSamples(seg)[1]!.dts).toBe((epoch + 40) * 90);
  });

  it('makes consecutive segments contiguous: each ends exactly where the next one starts', () => {
    const epoch = 1_700_000_000_000;
    const segs = [0, 160, 320, 480].map((t, i) => moofSamples(buildMediaSegment(fragment(epoch + t), { sequenceNumber: i + 1 })));
    for (const id of [1, 2]) {
      for (let i = 0; i + 1 < segs.length; i++) {
        const own = segs[i]!.filter((s) => s.trackId === id);
        const last = own.at(-1)!;
        expect(last.dts + last.duration).toBe(segs[i + 1]!.find((s) => s.trackId === id)!.dts);
      }
    }
  });

  it('clamps the negative decode times of B-frames at a 0 start, keeping presentation times and continuity', () => {
    // I P B b B b at 10 fps from pts 0; decode times run two frames (200 ms) ahead, so start at -200.
    const pts = [0, 100, 500, 300, 200, 400];
    const samples = pts.map((p, i) => sample(1, p, i * 100 - 200, 100, i === 0, 50 + i));
    const f: DemuxedFragment = { tracks: [video()], samples, startMs: 0, durationMs: 600 };
    const seg = buildMediaSegment(f, { sequenceNumber: 1 });
    const tfdt = findBox(seg, ['moof', 'traf', 'tfdt'])!;
    expect(seg.readBigUInt64BE(tfdt.start + 12)).toBe(0n);
    const parsed = moofSamples(seg);
    expect(parsed.map((s) => s.dts + s.cts)).toEqual(pts.map((ms) => ms * 90));
    expect(parsed.map((s) => s.dts)).toEqual([0, 0, 0, 9000, 18000, 27000]);
    expect(parsed.every((s) => s.cts >= 0)).toBe(true);
    expect(parsed.map((s) => s.data)).toEqual(samples.map((s) => s.data));
    // Per sample: segments (or LL-HLS parts) cut from the same samples join exactly and agree.
    const [head, tail] = [samples.slice(0, 2), samples.slice(2)].map((part) => moofSamples(buildMediaSegment({ ...f, samples: part }, { sequenceNumber: 1 })));
    expect(head!.at(-1)!.dts + head!.at(-1)!.duration).toBe(tail![0]!.dts);
    expect([...head!, ...tail!].map(({ dts, cts, duration }) => ({ dts, cts, duration }))).toEqual(parsed.map(({ dts, cts, duration }) => ({ dts, cts, duration })));
    // The next fragment (decode times ≥ 0) is untouched and starts where this one ends.
    const next = moofSamples(buildMediaSegment({ ...f, samples: pts.map((p, i) => sample(1, 600 + p, 400 + i * 100, 100, i === 0, 10)) }, { sequenceNumber: 2 }));
    expect(next[0]!.dts).toBe(parsed.at(-1)!.dts + parsed.at(-1)!.duration);
  });

  it('selects and orders tracks with trackNumbers, and gives empty tracks no traf', () => {
    const f = fragment(0);
    const onlyAudio = moofSamples(buildMediaSegment(f, { sequenceNumber: 1, trackNumbers: [2] }));
    expect(new Set(onlyAudio.map((s) => s.trackId))).toEqual(new Set([2]));
    const reversed = moofSamples(buildMediaSegment(f, { sequenceNumber: 1, trackNumbers: [2, 1] }));
    expect(reversed[0]!.trackId).toBe(2);
    const noAudio = { ...f, samples: f.samples.filter((s) => s.track === 1) };
    const seg = buildMediaSegment(noAudio, { sequenceNumber: 1 });
    expect(boxes(seg, findBox(seg, ['moof'])!.start + 8, findBox(seg, ['moof'])!.end).map((b) => b.type)).toEqual(['mfhd', 'traf']);
  });

  it('rejects what fMP4 cannot express', () => {
    expect(() => buildMediaSegment(fragment(0), { sequenceNumber: 1, trackNumbers: [3] })).toThrow(/track 3 is not in the fragment/);
    expect(() => buildMediaSegment(fragment(-100), { sequenceNumber: 1 })).toThrow(/presentation time -60 ms is negative/);
    expect(() => buildMediaSegment(fragment(0), { sequenceNumber: -1 })).toThrow(RangeError);
    const backwards = fragment(0);
    backwards.samples = backwards.samples.filter((s) => s.track === 1).reverse();
    expect(() => buildMediaSegment(backwards, { sequenceNumber: 1 })).toThrow(/must not go back/);
  });
});

describe('msToTimescale', () => {
  it('is exact for integer ms beyond 2^53 / 90000 and rounds half up', () => {
    const ms = 1_700_000_000_123;
    expect(msToTimescale(ms, 90000)).toBe(Number(BigInt(ms) * 90n));
    expect(msToTimescale(ms, 44100)).toBe(Number((BigInt(ms) * 44100n * 2n + 1000n) / 2000n));
    expect(msToTimescale(5, 44100)).toBe(221); // 220.5
    expect(msToTimescale(-5, 44100)).toBe(-221);
    expect(msToTimescale(33.3333, 90000)).toBe(3000);
  });
});

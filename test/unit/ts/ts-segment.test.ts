import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { CodecError, joinLengthPrefixed } from '../../../src/codec/index.ts';
import { toMediaTrack } from '../../../src/media/demux-mkv.ts';
import type { DemuxedFragment, MediaSample, MediaTrack } from '../../../src/media/types.ts';
import { buildTsSegment, crc32Mpeg2, msTo90kHz } from '../../../src/ts/index.ts';
import { H264_PPS, H265_PPS, H265_VPS, avcC, h264Sps, h265Sps, hvcC } from '../codec/bitstream-builders.ts';
import { readPackets, readPes, readSection } from './ts-reader.ts';

const sps = h264Sps({ widthMbs: 20, heightMapUnits: 15 });
const h264 = (n = 1): MediaTrack => toMediaTrack({ number: n, type: 1, codecId: 'V_MPEG4/ISO/AVC', codecPrivate: avcC({ sps: [sps], pps: [H264_PPS] }) });
const aac = (n = 2): MediaTrack => toMediaTrack({ number: n, type: 2, codecId: 'A_AAC', codecPrivate: Buffer.from('1210', 'hex') });
const idr = (size: number): Buffer => joinLengthPrefixed([Buffer.concat([Buffer.from([0x65]), Buffer.alloc(size - 1, 0x11)])]);
const slice = (size: number): Buffer => joinLengthPrefixed([Buffer.concat([Buffer.from([0x41]), Buffer.alloc(size - 1, 0x22)])]);

function s(track: number, ptsMs: number, dtsMs: number, keyframe: boolean, data: Buffer): MediaSample {
  return { track, ptsMs, dtsMs, durationMs: 40, keyframe, data };
}

/** I P B B at 25 fps with one-frame reordering, and two AAC frames. */
function fragment(startMs: number, tracks: MediaTrack[] = [h264(), aac()]): DemuxedFragment {
  const samples = [
    s(1, startMs + 40, startMs, true, idr(1000)),
    s(2, startMs, startMs, true, Buffer.alloc(300, 0x33)),
    s(1, startMs + 160, startMs + 40, false, slice(500)),
    s(2, startMs + 23, startMs + 23, true, Buffer.alloc(200, 0x44)),
    s(1, startMs + 80, startMs + 80, false, slice(100)),
    s(1, startMs + 120, startMs + 120, false, slice(154)),
  ];
  return { tracks, samples, startMs, durationMs: 160 };
}

describe('buildTsSegment', () => {
  it('starts with PAT and PMT whose CRCs check, listing H.264 and ADTS AAC with PCR on video', () => {
    const packets = readPackets(buildTsSegment(fragment(0)));
    expect(packets.slice(0, 2).map((p) => p.pid)).toEqual([0x0000, 0x1000]);
    const pat = readSection(packets[0]!);
    const pmt = readSection(packets[1]!);
    expect(crc32Mpeg2(pat)).toBe(0); // a section including its CRC has remainder 0
    expect(crc32Mpeg2(pmt)).toBe(0);
    expect(pat.readUInt16BE(10) & 0x1fff).toBe(0x1000);
    expect(pmt.readUInt16BE(8) & 0x1fff).toBe(0x101); // PCR_PID
    const streams = [0, 1].map((i) => [pmt[12 + 5 * i], pmt.readUInt16BE(13 + 5 * i) & 0x1fff]);
    expect(streams).toEqual([[0x1b, 0x101], [0x0f, 0x102]]);
  });

  it('carries each sample as one PES with 90 kHz PTS/DTS, in decode order', () => {
    const f = fragment(1000);
    const packets = readPackets(buildTsSegment(f));
    const video = readPes(packets, 0x101);
    expect(video.map((p) => [p.pts, p.dts])).toEqual(f.samples.filter((x) => x.track === 1).map((x) => [x.ptsMs * 90, x.dtsMs * 90]));
    expect(video.every((p) => p.streamId === 0xe0)).toBe(true);
    const audio = readPes(packets, 0x102);
    expect(audio.map((p) => p.pts)).toEqual([90000, 1023 * 90]);
    expect(audio[0]!.streamId).toBe(0xc0);
    expect(audio[0]!.packetLength).toBe(audio[0]!.payload.length + 8);
    // Audio is ADTS: LC, 44.1 kHz, stereo, frame length 307 (header included), then the raw frame.
    expect(audio[0]!.payload.subarray(0, 7).toString('hex')).toBe('fff15080267ffc');
    expect(audio[0]!.payload.subarray(7)).toEqual(Buffer.alloc(300, 0x33));
  });

  it('writes Annex B video with AUD, and SPS/PPS before the keyframe only', () => {
    const video = readPes(readPackets(buildTsSegment(fragment(0))), 0x101);
    const key = video[0]!.payload.toString('hex');
    expect(key.startsWith(`0000000109f000000001${sps.toString('hex')}00000001${H264_PPS.toString('hex')}0000000165`)).toBe(true);
    expect(video[1]!.payload.toString('hex').startsWith('0000000109f00000000141')).toBe(true);
    expect(video[1]!.payload.toString('hex')).not.toContain(sps.toString('hex'));
  });

  it('puts PCR (DTS − 100 ms) on every video PES and random_access_indicator on keyframes', () => {
    const video = readPes(readPackets(buildTsSegment(fragment(5000))), 0x101);
    expect(video.map((p) => p.first.adaptation?.pcr)).toEqual(video.map((p) => p.dts - 9000));
    expect(video.map((p) => p.first.adaptation?.randomAccess)).toEqual([true, false, false, false]);
    const audio = readPes(readPackets(buildTsSegment(fragment(5000))), 0x102);
    expect(audio.every((p) => p.first.adaptation === undefined)).toBe(true);
  });

  it('wraps PTS/DTS/PCR into 33 bits for epoch-ms times', () => {
    const epoch = 1_700_000_000_000;
    const video = readPes(readPackets(buildTsSegment(fragment(epoch))), 0x101);
    expect(video[0]!.dts).toBe((epoch * 90) % 2 ** 33);
    expect(video[0]!.pts).toBe(((epoch + 40) * 90) % 2 ** 33);
    expect(msTo90kHz(2 ** 33 / 90)).toBe(0);
    // Just past a wrap the PCR (100 ms earlier) wraps back below it.
    const wrapMs = Math.ceil(2 ** 33 / 90);
    const near = readPes(readPackets(buildTsSegment(fragment(wrapMs))), 0x101);
    expect(near[0]!.first.adaptation?.pcr).toBe(near[0]!.dts - 9000 + 2 ** 33);
  });

  it('reassembles any PES size exactly (adaptation-field stuffing, incl. the 1-byte case)', () => {
    const adaptationLengths = new Set<number>();
    for (let size = 150; size <= 400; size++) {
      const f: DemuxedFragment = { tracks: [h264()], samples: [s(1, 0, 0, false, slice(size))], startMs: 0, durationMs: 40 };
      const packets = readPackets(buildTsSegment(f));
      for (const p of packets) if (p.pid === 0x101 && p.adaptation && p.adaptation.pcr === undefined) adaptationLengths.add(p.adaptation.length);
      const [pes] = readPes(packets, 0x101);
      expect(pes!.payload.length).toBe(6 + 4 + size);
      expect(pes!.payload.subarray(10)).toEqual(Buffer.concat([Buffer.from([0x41]), Buffer.alloc(size - 1, 0x22)]));
    }
    expect(adaptationLengths.has(0)).toBe(true); // a lone length byte
    expect(adaptationLengths.has(1)).toBe(true); // length + flags byte
  });

  it('writes PES_packet_length 0 for video frames over 64 KiB', () => {
    const f: DemuxedFragment = { tracks: [h264()], samples: [s(1, 0, 0, true, idr(100_000))], startMs: 0, durationMs: 40 };
    const [pes] = readPes(readPackets(buildTsSegment(f)), 0x101);
    expect(pes!.packetLength).toBe(0);
    expect(pes!.payload.length).toBeGreaterThan(100_000);
  });

  it('ends every PID on a whole 16-packet cycle, so segments built apart continue each other in any order', () => {
    const segments = [0, 160, 320].map((t) => buildTsSegment(fragment(t)));
    // The same input gives the same bytes (any node, any request order).
    expect(buildTsSegment(fragment(160)).equals(segments[1]!)).toBe(true);
    const packets = segments.map((b) => readPackets(b));
    for (const pid of [0, 0x1000, 0x101, 0x102]) {
      for (const seg of packets) {
        const ccs = seg.filter((p) => p.pid === pid).map((p) => p.cc);
        expect(ccs.length % 16, `pid ${pid}`).toBe(0);
        expect(ccs[0]).toBe(0);
      }
      const ccs = packets.flat().filter((p) => p.pid === pid).map((p) => p.cc);
      expect(ccs.every((cc, i) => i === 0 || cc === (ccs[i - 1]! + 1) % 16), `pid ${pid}`).toBe(true);
    }
    // The spread-out last PES still carries the same elementary data.
    for (const [i, t] of [0, 160, 320].entries()) {
      const want = readPes(readPackets(buildTsSegment(fragment(t), { trackNumbers: [1, 2] })), 0x101).map((p) => p.payload);
      expect(readPes(packets[i]!, 0x101).map((p) => p.payload)).toEqual(want);
    }
  });

  it('selects tracks, uses stream_type 0x24 for H.265, and puts PCR on audio when there is no video', () => {
    const hevc = toMediaTrack({
      number: 1,
      type: 1,
      codecId: 'V_MPEGH/ISO/HEVC',
      codecPrivate: hvcC({ arrays: [{ type: 32, nals: [H265_VPS] }, { type: 33, nals: [h265Sps({ width: 320, height: 240 })] }, { type: 34, nals: [H265_PPS] }] }),
    });
    const f = fragment(0, [hevc, aac()]);
    f.samples = f.samples.map((x) => (x.track === 1 ? { ...x, data: joinLengthPrefixed([Buffer.from([x.keyframe ? 19 << 1 : 2, 1, 0xaa])]) } : x));
    const pmt = readSection(readPackets(buildTsSegment(f))[1]!);
    expect(pmt[12]).toBe(0x24);
    const audioOnly = readPackets(buildTsSegment(f, { trackNumbers: [2] }));
    const audioPmt = readSection(audioOnly[1]!);
    expect(audioPmt.readUInt16BE(8) & 0x1fff).toBe(0x102);
    expect(new Set(audioOnly.map((p) => p.pid))).toEqual(new Set([0, 0x1000, 0x102]));
    expect(readPes(audioOnly, 0x102).map((p) => p.first.adaptation?.randomAccess)).toEqual([true, true]);
  });

  it('refuses unsupported tracks with a CodecError and unknown track numbers with a RangeError', () => {
    const vp8 = toMediaTrack({ number: 1, type: 1, codecId: 'V_VP8' });
    expect(() => buildTsSegment({ tracks: [vp8], samples: [], startMs: 0, durationMs: 0 })).toThrow(CodecError);
    expect(() => buildTsSegment(fragment(0), { trackNumbers: [4] })).toThrow(RangeError);
  });
});

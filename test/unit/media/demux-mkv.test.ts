import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { demuxFragment } from '../../../src/media/demux-mkv.ts';
import { MKV_ID, blockGroup, clusterElement, ebmlHeader, infoElement, simpleBlock, tracksElement, unknownSizeHeader, type TrackEntry } from '../../../src/mkv/index.ts';

const VIDEO: TrackEntry = { number: 1, type: 1, codecId: 'V_MPEG4/ISO/AVC', codecPrivate: Buffer.from([1, 0x64, 0, 0x1f, 0xff]), defaultDurationNs: 40_000_000, video: { width: 320, height: 240 } };
const AUDIO: TrackEntry = { number: 2, type: 2, codecId: 'A_AAC', codecPrivate: Buffer.from('1190', 'hex'), audio: { samplingFrequency: 48000, channels: 2 } };

const header = (tracks: TrackEntry[]): Buffer =>
  Buffer.concat([ebmlHeader(), unknownSizeHeader(MKV_ID.Segment), infoElement({ timecodeScale: 1_000_000 }), tracksElement(tracks)]);
const frame = (n: number): Buffer => Buffer.from([n]);

describe('demuxFragment', () => {
  it('derives decode times for B-frames (dts <= pts) and keeps decode order', () => {
    const pts = [0, 120, 40, 80, 160];
    const cluster = clusterElement({ timecode: 1000, children: pts.map((p, i) => simpleBlock({ track: 1, relativeTimecode: p, keyframe: i === 0, frame: frame(i) })) });
    const f = demuxFragment(header([VIDEO]), cluster);
    expect(f.samples.map((s) => [s.ptsMs, s.dtsMs, s.durationMs])).toEqual([
      [1000, 960, 40], [1120, 1000, 40], [1040, 1040, 40], [1080, 1080, 40], [1160, 1120, 40],
    ]);
    expect(f.samples.every((s) => s.dtsMs <= s.ptsMs)).toBe(true);
    expect(f).toMatchObject({ startMs: 1000, durationMs: 200 });
  });

  it('gives a one-frame fragment the track DefaultDuration, and a BlockGroup its BlockDuration', () => {
    const single = demuxFragment(header([VIDEO]), clusterElement({ timecode: 0, children: [simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frame: frame(1) })] }));
    expect(single.samples[0]!.durationMs).toBe(40);
    const audio = demuxFragment(
      header([AUDIO]),
      clusterElement({ timecode: 0, children: [simpleBlock({ track: 2, relativeTimecode: 0, keyframe: true, frame: frame(1) }), blockGroup({ track: 2, relativeTimecode: 21, frame: frame(2), durationTicks: 22 })] }),
    );
    expect(audio.samples.map((s) => s.durationMs)).toEqual([21, 22]);
  });

  it('spaces laced frames by the block duration and marks laced audio frames as keyframes', () => {
    const laced = blockGroup({ track: 2, relativeTimecode: 0, frames: [frame(1), frame(2), frame(3)], lacing: 'xiph', durationTicks: 60 });
    const f = demuxFragment(header([AUDIO]), clusterElement({ timecode: 500, children: [laced] }));
    expect(f.samples.map((s) => [s.ptsMs, s.dtsMs, s.durationMs, s.keyframe, s.data[0]])).toEqual([
      [500, 500, 20, true, 1], [520, 520, 20, true, 2], [540, 540, 20, true, 3],
    ]);
  });

  it('interleaves tracks by decode time', () => {
    const cluster = clusterElement({
      timecode: 0,
      children: [
        simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frame: frame(1) }),
        simpleBlock({ track: 2, relativeTimecode: 0, keyframe: true, frame: frame(2) }),
        simpleBlock({ track: 2, relativeTimecode: 21, keyframe: true, frame: frame(3) }),
        simpleBlock({ track: 1, relativeTimecode: 40, keyframe: false, frame: frame(4) }),
      ],
    });
    const f = demuxFragment(header([VIDEO, AUDIO]), cluster);
    expect(f.samples.map((s) => s.data[0])).toEqual([1, 2, 3, 4]);
    expect(f.tracks.map((t) => [t.number, t.kind])).toEqual([[1, 'video'], [2, 'audio']]);
  });
});

/**
 * End to end: ffmpeg-made MKV → stored-fragment shapes → demux → init + media segments in one
 * .mp4, then ffprobe/ffmpeg (and mp4box) judge the result against the source file.
 */
import { Buffer } from 'node:buffer';
import { createFile, MP4BoxBuffer } from 'mp4box';
import { describe, expect, it } from 'vitest';
import { describeTrack } from '../../../src/codec/index.ts';
import type { DemuxedFragment } from '../../../src/media/types.ts';
import { countFrames } from '../../../src/media-tools/ffmpeg.ts';
import { buildInitSegment, buildMediaSegment, msToTimescale } from '../../../src/mp4/index.ts';
import { parseMoof } from '../../../src/mp4/moof-parser.ts';
import { makeH264Mkv } from '../../support/media.ts';
import {
  EPOCH_OFFSET_MS,
  decodeMessages,
  demuxMkvFile,
  encodeMkv,
  ffmpegDashCodecs,
  probeStreams,
  videoPtsTicks,
  writeTemp,
} from '../media/playback-fixtures.ts';

const H264_PROFILES: Record<string, number> = { High: 100, Main: 77, Baseline: 66, 'Constrained Baseline': 66 };

const cases = [
  { name: 'H.264 High@3.1 with B-frames + AAC', codec: 'h264', sampleEntry: 'avc1', make: () => encodeMkv({ codec: 'h264', profile: 'high', level: '3.1', bframes: 2, seconds: 3, audio: true }) },
  { name: 'H.264 Main without B-frames + AAC', codec: 'h264', sampleEntry: 'avc1', make: () => makeH264Mkv({ seconds: 3, bframes: 0, audio: true }) },
  { name: 'H.265 Main with B-frames + AAC', codec: 'h265', sampleEntry: 'hvc1', make: () => encodeMkv({ codec: 'h265', seconds: 3, audio: true }) },
] as const;

/** Codec strings mp4box (an independent ISO BMFF implementation) reads from an init segment. */
function mp4boxCodecs(init: Buffer): string[] {
  const file = createFile();
  let codecs: string[] = [];
  file.onReady = (info) => (codecs = info.tracks.map((t) => t.codec));
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(new Uint8Array(init).buffer, 0));
  file.flush();
  return codecs;
}

function segmentsOf(fragments: DemuxedFragment[]): Buffer[] {
  return fragments.map((f, i) => buildMediaSegment(f, { sequenceNumber: i + 1 }));
}

describe.each(cases)('fMP4 from $name', ({ codec, sampleEntry, make }) => {
  it('decodes to the source frame counts and video PTS, without errors', async () => {
    const source = await make();
    const fragments = demuxMkvFile(source, EPOCH_OFFSET_MS);
    expect(fragments.length).toBeGreaterThan(1);
    const out = writeTemp(`${codec}-${fragments.length}.mp4`, Buffer.concat([buildInitSegment(fragments[0]!.tracks), ...segmentsOf(fragments)]));

    const [want, got] = await Promise.all([countFrames(source, 'frames'), countFrames(out, 'frames')]);
    expect(want.video).toBeGreaterThan(0);
    expect(want.audio).toBeGreaterThan(0);
    expect(got).toEqual(want);

    const sourcePts = await videoPtsTicks(source);
    const offset = msToTimescale(EPOCH_OFFSET_MS, 90000);
    expect((await videoPtsTicks(out)).map((t) => t - offset)).toEqual(sourcePts);
    expect(await decodeMessages(out)).toEqual([]);

    const [srcVideo, srcAudio] = await probeStreams(source);
    const [video, audio] = await probeStreams(out);
    expect(video).toMatchObject({ codec_tag_string: sampleEntry, profile: srcVideo?.profile, level: srcVideo?.level, width: srcVideo?.width, height: srcVideo?.height });
    expect(audio).toMatchObject({ codec_tag_string: 'mp4a', profile: srcAudio?.profile, sample_rate: srcAudio?.sample_rate, channels: srcAudio?.channels });
  });

  it('writes segments whose video decode timelines join exactly', async () => {
    const fragments = demuxMkvFile(await make(), EPOCH_OFFSET_MS);
    const ranges = segmentsOf(fragments).map((seg) => {
      const moofSize = seg.readUInt32BE(0);
      const video = parseMoof(seg.subarray(0, moofSize), 0, {
        defaults: () => ({ sampleDescriptionIndex: 1, duration: 0, size: 0, flags: 0 }),
        nextDecodeTime: () => 0,
      }).filter((s) => s.trackId === 1);
      return { start: video[0]!.dts, end: video.at(-1)!.dts + video.at(-1)!.duration };
    });
    for (let i = 0; i + 1 < ranges.length; i++) expect(ranges[i]!.end).toBe(ranges[i + 1]!.start);
  });

  it('reports codec strings that match ffprobe, mp4box and ffmpeg', async () => {
    const source = await make();
    const [fragment] = demuxMkvFile(source, EPOCH_OFFSET_MS);
    const ours = fragment!.tracks.map((t) => describeTrack(t).codecString);
    expect(mp4boxCodecs(buildInitSegment(fragment!.tracks))).toEqual(ours);
    const [video, audio] = await probeStreams(source);
    expect(ours[1]).toBe(`mp4a.40.${audio?.profile === 'LC' ? 2 : -1}`);
    if (codec === 'h264') {
      const pp = H264_PROFILES[video!.profile!]!.toString(16).padStart(2, '0');
      expect(ours[0]).toMatch(new RegExp(`^avc1\\.${pp}[0-9a-f]{2}${video!.level!.toString(16).padStart(2, '0')}$`));
      // ffmpeg's DASH muxer derives the same strings from the stream on its own.
      expect(await ffmpegDashCodecs(source)).toEqual(ours);
    } else {
      expect(video?.profile).toBe('Main');
      expect(ours[0]).toMatch(new RegExp(`^hvc1\\.1\\.6\\.L${video!.level}(\\.[0-9A-F]{2})*$`));
    }
  });
});

it('the High@3.1 test stream is avc1.64001f, as the toolchain notes say', async () => {
  const [fragment] = demuxMkvFile(await cases[0].make());
  expect(describeTrack(fragment!.tracks[0]!).codecString).toBe('avc1.64001f');
});

/**
 * End to end: ffmpeg-made MKV → stored-fragment shapes → demux → one TS segment per fragment
 * (each built on its own, as any node serves any segment), concatenated and judged by ffprobe/ffmpeg
 * (which warns about any continuity-counter gap between them).
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { countFrames } from '../../../src/media-tools/ffmpeg.ts';
import { buildTsSegment } from '../../../src/ts/index.ts';
import { makeH264Mkv } from '../../support/media.ts';
import { EPOCH_OFFSET_MS, decodeMessages, demuxMkvFile, encodeMkv, probeStreams, videoPtsTicks, writeTemp } from '../media/playback-fixtures.ts';

const WRAP = 2 ** 33;

const cases = [
  { name: 'H.264 High with B-frames + AAC', codec: 'h264', make: () => encodeMkv({ codec: 'h264', profile: 'high', level: '3.1', bframes: 2, seconds: 3, audio: true }) },
  { name: 'H.264 Main without B-frames + AAC', codec: 'h264', make: () => makeH264Mkv({ seconds: 3, bframes: 0, audio: true }) },
  { name: 'H.265 with B-frames + AAC', codec: 'hevc', make: () => encodeMkv({ codec: 'h265', seconds: 3, audio: true }) },
] as const;

describe.each(cases)('MPEG-TS from $name', ({ codec, make }) => {
  it('decodes to the source frame counts and video PTS (mod 2^33), without errors or warnings', async () => {
    const source = await make();
    const fragments = demuxMkvFile(source, EPOCH_OFFSET_MS);
    expect(fragments.length).toBeGreaterThan(1);
    const out = writeTemp(`${codec}-${fragments.length}.ts`, Buffer.concat(fragments.map((f) => buildTsSegment(f))));

    const [want, got] = await Promise.all([countFrames(source, 'frames'), countFrames(out, 'frames')]);
    expect(want.video).toBeGreaterThan(0);
    expect(want.audio).toBeGreaterThan(0);
    expect(got).toEqual(want);

    const offset = (EPOCH_OFFSET_MS * 90) % WRAP;
    const sourcePts = await videoPtsTicks(source);
    const outPts = (await videoPtsTicks(out)).map((t) => (((t - offset) % WRAP) + WRAP) % WRAP);
    expect(outPts.sort((a, b) => a - b)).toEqual(sourcePts);
    expect(await decodeMessages(out, 'warning')).toEqual([]);

    const [srcVideo, srcAudio] = await probeStreams(source);
    const [video, audio] = await probeStreams(out);
    expect(video).toMatchObject({ codec_name: codec, profile: srcVideo?.profile, level: srcVideo?.level, width: srcVideo?.width, height: srcVideo?.height });
    expect(audio).toMatchObject({ codec_name: 'aac', profile: srcAudio?.profile, sample_rate: srcAudio?.sample_rate, channels: srcAudio?.channels });
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KVS_TAG } from '../../../src/mkv/kvs-tags.ts';
import { byteFeed, concatRaws, normalize, parseAll, seededRandom, types, wholeFeed } from './helpers.ts';

const FFMPEG = '/usr/bin/ffmpeg';

describe.skipIf(!existsSync(FFMPEG))('real ffmpeg output', () => {
  it('finds the H.264 track, 50 blocks and keyframes every 25 frames', () => {
    const run = spawnSync(
      FFMPEG,
      ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', '2', '-c:v', 'libx264', '-g', '25', '-bf', '0', '-f', 'matroska', 'pipe:1'],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    expect(run.status, run.stderr.toString()).toBe(0);
    const input = run.stdout;
    const events = wholeFeed(input);

    const tracks = events.find((e) => e.type === 'tracks');
    if (tracks?.type !== 'tracks') throw new Error('no Tracks');
    expect(tracks.tracks).toHaveLength(1);
    const [video] = tracks.tracks;
    expect(video).toMatchObject({ number: 1, type: 1, codecId: 'V_MPEG4/ISO/AVC', video: { width: 160, height: 120 } });
    expect(video?.codecPrivate?.[0]).toBe(1); // AVCDecoderConfigurationRecord version

    const blocks = events.flatMap((e) => (e.type === 'block' ? [e.block] : []));
    expect(blocks).toHaveLength(50);
    const keyframes = blocks.flatMap((b, i) => (b.keyframe ? [i] : []));
    expect(keyframes[0]).toBe(0);
    expect(keyframes).toContain(25);
    expect(blocks.every((b) => b.track === 1 && b.frames.length === 1)).toBe(true);

    // Piped output: unknown-size Segment, known-size clusters, trailing Cues/Tags; nothing skipped.
    expect(events[1]).toMatchObject({ type: 'segment-start', unknownSize: true });
    expect(types(events)).not.toContain('skipped');
    expect(concatRaws(events).equals(input)).toBe(true);
    expect(events.filter((e) => e.type === 'tags').flatMap((e) => (e.type === 'tags' ? e.tags : [])).some((t) => t.name === KVS_TAG.FRAGMENT_NUMBER)).toBe(false);

    const expected = normalize(events);
    expect(normalize(byteFeed(input))).toEqual(expected);
    const rnd = seededRandom(7);
    expect(normalize(parseAll(input, () => 1 + Math.floor(rnd() * 5000)))).toEqual(expected);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  countFrames,
  describeFailure,
  liveInputOptions,
  probe,
  remuxToMkvArgs,
  runFfmpeg,
  spawnFfmpeg,
  videoPackets,
} from '../../../src/media-tools/ffmpeg.ts';
import { GopClusterStream } from '../../../src/client/gop-clusters.ts';
import { makeH264Mkv } from '../../support/media.ts';

/** ffprobe's view of MKV bytes (written to a temp file). */
async function videoPacketsOf(mkv: Buffer) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-gop-'));
  try {
    fs.writeFileSync(path.join(dir, 'x.mkv'), mkv);
    return await videoPackets(path.join(dir, 'x.mkv'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const saved = process.env.KESTREL_FFMPEG;
afterEach(() => {
  if (saved === undefined) delete process.env.KESTREL_FFMPEG;
  else process.env.KESTREL_FFMPEG = saved;
});

describe('media-tools/ffmpeg', () => {
  it('probes, counts frames and lists keyframes of generated media', async () => {
    const file = await makeH264Mkv({ seconds: 2, fps: 10, gop: 5, audio: true, bframes: 0 });
    const info = await probe(file);
    expect(info.format).toContain('matroska');
    expect(info.durationSec).toBeCloseTo(2, 0);
    const video = info.streams.find((s) => s.type === 'video')!;
    expect(video).toMatchObject({ codec: 'h264', width: 320, height: 240, fps: 10, hasBFrames: 0 });
    expect(info.streams.find((s) => s.type === 'audio')).toMatchObject({ codec: 'aac', sampleRate: 44100 });

    expect((await countFrames(file, 'packets')).video).toBe(20);
    expect((await countFrames(file, 'frames')).video).toBe(20);
    expect((await videoPackets(file)).filter((p) => p.keyframe)).toHaveLength(4);
  });

  it('remuxes to MKV on stdout with one cluster per GOP', async () => {
    const file = await makeH264Mkv({ seconds: 2, fps: 10, gop: 5 });
    const proc = spawnFfmpeg(remuxToMkvArgs(file), { stdout: 'pipe' });
    const chunks: Buffer[] = [];
    for await (const c of proc.stdout! as AsyncIterable<Buffer>) chunks.push(c);
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    const mkv = Buffer.concat(chunks);
    expect(mkv.subarray(0, 4).toString('hex')).toBe('1a45dfa3');
    // Cluster ID 1F 43 B6 75 occurs once per 0.5 s GOP.
    expect(mkv.toString('hex').split('1f43b675').length - 1).toBe(4);
  });

  it('writes one cluster per frame with clusterPerFrame, which GopClusterStream joins into one streaming cluster per GOP', async () => {
    const file = await makeH264Mkv({ seconds: 2, fps: 10, gop: 5, bframes: 0 });
    const proc = spawnFfmpeg(remuxToMkvArgs(file, { clusterPerFrame: true }), { stdout: 'pipe' });
    const gop = new GopClusterStream();
    const raw: Buffer[] = [];
    const joined: Buffer[] = [];
    proc.stdout!.on('data', (c: Buffer) => raw.push(c));
    gop.on('data', (c: Buffer) => joined.push(c));
    proc.stdout!.pipe(gop);
    await new Promise((r) => gop.once('end', r));
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    const clusterIds = (b: Buffer) => b.toString('hex').split('1f43b675').length - 1;
    expect(clusterIds(Buffer.concat(raw))).toBe(20);
    expect(clusterIds(Buffer.concat(joined))).toBe(4);
    expect(gop.stats).toMatchObject({ blocksIn: 20, blocksOut: 20, clustersOut: 4, droppedBeforeKeyFrame: 0 });
    const packets = await videoPacketsOf(Buffer.concat(joined));
    expect(packets).toHaveLength(20);
    expect(packets.filter((p) => p.keyframe)).toHaveLength(4);
  });

  it('builds the documented argument lists', () => {
    expect(remuxToMkvArgs('in.mp4', { realtime: true })).toEqual([
      '-re', '-i', 'in.mp4', '-map', '0:v:0?', '-map', '0:a:0?', '-c', 'copy', '-f', 'matroska',
      '-cluster_size_limit', '10M', '-cluster_time_limit', '10000', 'pipe:1',
    ]);
    expect(liveInputOptions('rtsp://cam/1')).toEqual(['-rtsp_transport', 'tcp', '-timeout', '10000000']);
    expect(liveInputOptions('/dev/video0')).toEqual([]);
  });

  it('reports failures with the last stderr line, and a missing binary without throwing', async () => {
    await expect(runFfmpeg(['-i', '/nonexistent/input.mkv', '-f', 'null', '-'])).rejects.toThrow(
      /^ffmpeg exited with code 1: .*No such file or directory/,
    );
    process.env.KESTREL_FFMPEG = '/nonexistent/ffmpeg';
    const proc = spawnFfmpeg(['-version']);
    expect(await proc.exited).toEqual({ code: -1, signal: null });
    expect(proc.stderrTail().join('\n')).toContain('cannot run /nonexistent/ffmpeg');
    expect(describeFailure({ code: null, signal: 'SIGKILL' }, [])).toBe('ffmpeg was killed by SIGKILL');
  });
});

/**
 * Fmp4Decoder on real ffmpeg output: fMP4 in, MkvStreamParser events out, checked against what
 * ffprobe reports for the MP4 and for the Matroska bytes we produced.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fmp4Decoder } from '../../../src/ingest/fmp4-decoder.ts';
import { MkvStreamParser, type BlockInfo, type MkvEvent } from '../../../src/mkv/index.ts';
import { AckError } from '../../../src/shared/errors.ts';

const FFMPEG = '/usr/bin/ffmpeg';
const FFPROBE = '/usr/bin/ffprobe';
const FRAG_FLAGS = ['-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4'];

let dir: string;
const files: Record<string, Buffer> = {};

function ffmpeg(args: string[], out: string): Buffer {
  const target = path.join(dir, out);
  const run = spawnSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', ...args, target], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ffmpeg failed: ${run.stderr}`);
  return readFileSync(target);
}

function avArgs(bframes: number, video = ['-c:v', 'libx264', '-preset', 'ultrafast']): string[] {
  return ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', '4', ...video,
    '-g', '25', '-bf', String(bframes), '-c:a', 'aac', '-shortest', ...FRAG_FLAGS];
}

function ffprobe(file: string, entries: string[]): string {
  const run = spawnSync(FFPROBE, ['-v', 'error', ...entries, '-of', 'csv=p=0', file], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ffprobe failed: ${run.stderr}`);
  return run.stdout.trim();
}

/** Packets per stream as ffprobe counts them, e.g. [100, 174]. */
function packetCounts(file: string): number[] {
  return ffprobe(file, ['-count_packets', '-show_entries', 'stream=nb_read_packets']).split('\n').map(Number);
}

function videoPtsMs(file: string): number[] {
  return ffprobe(file, ['-select_streams', 'v', '-show_entries', 'packet=pts_time']).split('\n').map((s) => Math.round(Number(s) * 1000));
}

function topLevelTypes(buf: Buffer): string[] {
  const types: string[] = [];
  for (let pos = 0; pos < buf.length; pos += buf.readUInt32BE(pos)) types.push(buf.toString('latin1', pos + 4, pos + 8));
  return types;
}

function decode(input: Buffer, step = input.length, maxFragmentBytes?: number): MkvEvent[] {
  const d = new Fmp4Decoder(new MkvStreamParser(), maxFragmentBytes === undefined ? {} : { maxFragmentBytes });
  const events: MkvEvent[] = [];
  for (let i = 0; i < input.length; i += step) events.push(...d.push(input.subarray(i, i + step)));
  events.push(...d.end());
  return events;
}

const digest = (events: MkvEvent[]) =>
  events.map((e) => `${e.type}:${'raw' in e ? createHash('sha1').update(e.raw).digest('hex') : ''}`);
const mkvBytes = (events: MkvEvent[]) => Buffer.concat(events.flatMap((e) => ('raw' in e ? [e.raw] : [])));

function clusters(events: MkvEvent[]): BlockInfo[][] {
  const out: BlockInfo[][] = [];
  for (const e of events) {
    if (e.type === 'cluster-start') out.push([]);
    if (e.type === 'block') out.at(-1)!.push(e.block);
  }
  return out;
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe.skipIf(!existsSync(FFMPEG) || !existsSync(FFPROBE))('Fmp4Decoder on ffmpeg fMP4', () => {
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kestrel-fmp4-'));
    files.plain = ffmpeg(avArgs(0), 'plain.mp4');
    files.bframes = ffmpeg(avArgs(2), 'bframes.mp4');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const name of ['plain', 'bframes'] as const) {
    describe(name === 'plain' ? 'H.264 + AAC' : 'H.264 with B-frames + AAC', () => {
      it('gives the same events for 1-byte, 1000-byte and whole chunks', () => {
        const input = files[name]!;
        const whole = digest(decode(input));
        expect(digest(decode(input, 1000))).toEqual(whole);
        expect(digest(decode(input, 1))).toEqual(whole);
      });

      it('makes one keyframe-led cluster per moof holding every sample', () => {
        const input = files[name]!;
        const events = decode(input);
        const tracks = events.find((e) => e.type === 'tracks');
        if (tracks?.type !== 'tracks') throw new Error('no Tracks');
        expect(tracks.tracks).toMatchObject([
          { number: 1, type: 1, codecId: 'V_MPEG4/ISO/AVC', video: { width: 320, height: 240 } },
          { number: 2, type: 2, codecId: 'A_AAC', audio: { samplingFrequency: 44100, channels: 1 } },
        ]);
        expect(tracks.tracks[0]!.codecPrivate![0]).toBe(1); // AVCDecoderConfigurationRecord version
        expect(tracks.tracks[1]!.codecPrivate!.length).toBeGreaterThanOrEqual(2); // AudioSpecificConfig

        const moofs = topLevelTypes(input).filter((t) => t === 'moof').length;
        const perCluster = clusters(events);
        expect(perCluster).toHaveLength(moofs);
        for (const blocks of perCluster) expect(blocks[0]!.keyframe).toBe(true);
        const [videoPackets, audioPackets] = packetCounts(path.join(dir, `${name}.mp4`));
        const all = perCluster.flat();
        expect(all.filter((b) => b.track === 1)).toHaveLength(videoPackets!);
        expect(all.filter((b) => b.track === 2)).toHaveLength(audioPackets!);
        // -g 25 over 100 frames: a video keyframe opens every fragment and nothing else is one.
        expect(all.filter((b) => b.track === 1 && b.keyframe)).toHaveLength(moofs);
        expect(events.filter((e) => e.type === 'ebml-header')).toHaveLength(1);
      });

      it('writes Matroska that ffmpeg decodes to the same frames and presentation times', () => {
        const mkvFile = path.join(dir, `${name}.mkv`);
        writeFileSync(mkvFile, mkvBytes(decode(files[name]!)));
        const mp4File = path.join(dir, `${name}.mp4`);
        const frames = ffprobe(mkvFile, ['-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames']);
        expect(frames.split('\n')).toEqual(packetCounts(mp4File).map((n, i) => `${i === 0 ? 'h264' : 'aac'},${n}`));
        expect(videoPtsMs(mkvFile)).toEqual(videoPtsMs(mp4File));
        const decodeRun = spawnSync(FFMPEG, ['-v', 'error', '-i', mkvFile, '-f', 'null', '-'], { encoding: 'utf8' });
        expect(decodeRun.status).toBe(0);
        expect(decodeRun.stderr).toBe('');
      });
    });
  }

  it('converts HEVC (hvc1) with the hvcC payload as CodecPrivate', () => {
    const hevc = ffmpeg(avArgs(0, ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', '-tag:v', 'hvc1']), 'hevc.mp4');
    const events = decode(hevc, 4096);
    const tracks = events.find((e) => e.type === 'tracks');
    if (tracks?.type !== 'tracks') throw new Error('no Tracks');
    expect(tracks.tracks[0]).toMatchObject({ codecId: 'V_MPEGH/ISO/HEVC', video: { width: 320, height: 240 } });
    expect(tracks.tracks[0]!.codecPrivate![0]).toBe(1); // HEVCDecoderConfigurationRecord version
    const mkvFile = path.join(dir, 'hevc.mkv');
    writeFileSync(mkvFile, mkvBytes(events));
    expect(ffprobe(mkvFile, ['-select_streams', 'v', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames'])).toBe('hevc,100');
  });

  it('starts a new EBML header + Segment when a different moov follows, not for a repeated one', () => {
    const small = ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', ...FRAG_FLAGS], 'small.mp4');
    const events = decode(Buffer.concat([files.plain!, small]), 1000);
    expect(events.filter((e) => e.type === 'ebml-header')).toHaveLength(2);
    const widths = events.flatMap((e) => (e.type === 'tracks' ? [e.tracks[0]!.video!.width] : []));
    expect(widths).toEqual([320, 160]);
    expect(events.filter((e) => e.type === 'tracks')[1]).toMatchObject({ tracks: [{ number: 1, codecId: 'V_MPEG4/ISO/AVC' }] });

    const moovEnd = topLevelTypes(files.plain!).indexOf('moof');
    const initLength = (() => {
      let pos = 0;
      for (let i = 0; i < moovEnd; i++) pos += files.plain!.readUInt32BE(pos);
      return pos;
    })();
    const repeated = decode(Buffer.concat([files.plain!.subarray(0, initLength), files.plain!]));
    expect(repeated.filter((e) => e.type === 'ebml-header')).toHaveLength(1);
  });

  it('answers INVALID_MKV_DATA for a garbage box, after handing over the fragments before it', () => {
    const garbage = Buffer.concat([Buffer.from('0000001c01020304', 'hex'), Buffer.from('garbage-bytes-here')]);
    const bad = catchError(() => new Fmp4Decoder(new MkvStreamParser()).push(garbage));
    expect(bad).toBeInstanceOf(AckError);
    expect(bad).toMatchObject({ code: 'INVALID_MKV_DATA' });
    expect((bad as Error).message).toMatch(/not a four-character code/);

    const input = files.plain!;
    const firstFragmentEnd = (() => {
      let pos = 0;
      let mdats = 0;
      while (mdats < 1) {
        if (input.toString('latin1', pos + 4, pos + 8) === 'mdat') mdats++;
        pos += input.readUInt32BE(pos);
      }
      return pos;
    })();
    const d = new Fmp4Decoder(new MkvStreamParser());
    // A printable but unknown top-level type is refused too, rather than guessed at.
    const events = d.push(Buffer.concat([input.subarray(0, firstFragmentEnd), Buffer.from('00000010', 'hex'), Buffer.from('junkjunkjunk')]));
    expect(events.filter((e) => e.type === 'cluster-end')).toHaveLength(1);
    const deferred = catchError(() => d.end());
    expect(deferred).toMatchObject({ code: 'INVALID_MKV_DATA' });
    expect((deferred as Error).message).toMatch(/unexpected top-level box 'junk'/);
  });

  it('answers MAX_FRAGMENT_SIZE_REACHED for a 4 GB box from its header alone', () => {
    const init = files.plain!.subarray(0, files.plain!.indexOf('moof', 0, 'latin1') - 4);
    const d = new Fmp4Decoder(new MkvStreamParser());
    d.push(init);
    const err = catchError(() => d.push(Buffer.concat([Buffer.from('ffffffff', 'hex'), Buffer.from('moof')])));
    expect(err).toMatchObject({ code: 'MAX_FRAGMENT_SIZE_REACHED' });
    expect((err as Error).message).toMatch(/'moof' box .* 4294967295 bytes/);
  });

  it('answers MAX_FRAGMENT_SIZE_REACHED when moof + mdat exceed the configured limit', () => {
    const err = catchError(() => decode(files.plain!, 1000, 50_000));
    expect(err).toMatchObject({ code: 'MAX_FRAGMENT_SIZE_REACHED' });
    expect((err as Error).message).toMatch(/moof \(\d+ bytes\) \+ mdat \(\d+ bytes\) exceed the 50000-byte limit/);
  });

  it('names an unsupported codec', () => {
    const patched = Buffer.from(files.plain!);
    const at = patched.indexOf('mp4a', 0, 'latin1');
    patched.write('Opus', at, 'latin1');
    const err = catchError(() => decode(patched));
    expect(err).toMatchObject({ code: 'INVALID_MKV_DATA' });
    expect((err as Error).message).toMatch(/codec 'Opus' is not supported/);
  });

  it('answers MAX_FRAGMENT_DURATION_REACHED for a fragment over 32.7 s', () => {
    const long = ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=5', '-t', '40', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '1000', ...FRAG_FLAGS], 'long.mp4');
    expect(catchError(() => decode(long))).toMatchObject({ code: 'MAX_FRAGMENT_DURATION_REACHED' });
  });

  it('rejects a progressive (non-fragmented) MP4 with a hint', () => {
    const progressive = ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=5', '-t', '1', '-c:v', 'libx264', '-movflags', 'faststart', '-f', 'mp4'], 'progressive.mp4');
    const err = catchError(() => decode(progressive));
    expect(err).toMatchObject({ code: 'INVALID_MKV_DATA' });
    expect((err as Error).message).toMatch(/progressive MP4 is not supported/);
  });
});

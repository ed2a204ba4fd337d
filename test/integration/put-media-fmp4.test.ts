/**
 * Fragmented MP4 pushed to PutMedia end to end: ACKs per moof, fragments listed, and the MKV
 * served back by GetMediaForFragmentList decodes to every frame that was pushed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { signedFetch } from '../support/auth.ts';

const FFMPEG = '/usr/bin/ffmpeg';
const FFPROBE = '/usr/bin/ffprobe';

let server: TestServer;
let dir: string;

function post(route: string, body: unknown): Promise<Response> {
  return signedFetch(`${server.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

/** Frames per stream as ffprobe decodes them, e.g. ['h264,100', 'aac,174']. */
function decodedFrames(file: string, count: '-count_frames' | '-count_packets'): string[] {
  const entry = count === '-count_frames' ? 'stream=codec_name,nb_read_frames' : 'stream=codec_name,nb_read_packets';
  const run = spawnSync(FFPROBE, ['-v', 'error', count, '-show_entries', entry, '-of', 'csv=p=0', file], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ffprobe failed: ${run.stderr}`);
  return run.stdout.trim().split('\n');
}

function* pieces(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe.skipIf(!existsSync(FFMPEG) || !existsSync(FFPROBE))('PutMedia with a fragmented MP4 body', () => {
  let mp4: Buffer;
  let mp4File: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kestrel-fmp4-it-'));
    mp4File = path.join(dir, 'in.mp4');
    const run = spawnSync(
      FFMPEG,
      ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine',
        '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-bf', '2', '-c:a', 'aac', '-shortest',
        '-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4', mp4File],
      { encoding: 'utf8' },
    );
    if (run.status !== 0) throw new Error(`ffmpeg failed: ${run.stderr}`);
    mp4 = readFileSync(mp4File);
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores one fragment per moof and serves them back as decodable MKV', async () => {
    const created = await post('/createStream', { StreamName: 'f1', DataRetentionInHours: 1 });
    expect(created.status).toBe(200);

    const moofs = countTopLevel(mp4, 'moof');
    const put = await rawPutMedia(server.url, 'f1', pieces(mp4, 16 * 1024));
    expect(put.status).toBe(200);
    expect(put.acks.filter((a) => a.EventType === 'ERROR')).toEqual([]);
    for (const type of ['BUFFERING', 'RECEIVED', 'PERSISTED']) {
      expect(put.acks.filter((a) => a.EventType === type), type).toHaveLength(moofs);
    }
    const persisted = put.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber);

    const listed = await post('/listFragments', {
      StreamName: 'f1',
      FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: 0, EndTimestamp: 4_000_000_000 } },
    });
    expect(listed.status).toBe(200);
    const { Fragments } = (await listed.json()) as { Fragments: Array<{ FragmentNumber: string; ProducerTimestamp: number }> };
    expect(Fragments).toHaveLength(moofs);
    const numbers = [...Fragments].sort((a, b) => a.ProducerTimestamp - b.ProducerTimestamp).map((f) => f.FragmentNumber);
    expect(numbers).toEqual(persisted);

    const media = await post('/getMediaForFragmentList', { StreamName: 'f1', Fragments: numbers });
    expect(media.status).toBe(200);
    const mkvFile = path.join(dir, 'out.mkv');
    writeFileSync(mkvFile, Buffer.from(await media.arrayBuffer()));
    const pushed = decodedFrames(mp4File, '-count_packets');
    expect(pushed).toEqual(['h264,100', expect.stringMatching(/^aac,\d+$/)]);
    expect(decodedFrames(mkvFile, '-count_frames')).toEqual(pushed);
  });

  it('ACKs the fragments before a bad box, then answers INVALID_MKV_DATA', async () => {
    expect((await post('/createStream', { StreamName: 'f2', DataRetentionInHours: 1 })).status).toBe(200);
    const firstFragmentEnd = endOfNth(mp4, 'mdat', 1);
    const body = Buffer.concat([mp4.subarray(0, firstFragmentEnd), Buffer.from('00000010', 'hex'), Buffer.from('junkjunkjunk')]);
    const put = await rawPutMedia(server.url, 'f2', [body]);
    // PERSISTED may land before or after the ERROR: persisting runs while the body is still read.
    expect(put.acks.map((a) => a.EventType).sort()).toEqual(['BUFFERING', 'ERROR', 'PERSISTED', 'RECEIVED']);
    expect(put.acks.slice(0, 2).map((a) => a.EventType)).toEqual(['BUFFERING', 'RECEIVED']);
    expect(put.acks.at(-1)).toMatchObject({ ErrorCode: 'INVALID_MKV_DATA', ErrorId: 4006 });
  });
});

/** Offset just past the nth top-level box of `type`. */
function endOfNth(buf: Buffer, type: string, nth: number): number {
  let seen = 0;
  for (let pos = 0; pos < buf.length; pos += buf.readUInt32BE(pos)) {
    if (buf.toString('latin1', pos + 4, pos + 8) === type && ++seen === nth) return pos + buf.readUInt32BE(pos);
  }
  throw new Error(`no ${nth}th ${type}`);
}

function countTopLevel(buf: Buffer, type: string): number {
  let n = 0;
  for (let pos = 0; pos < buf.length; pos += buf.readUInt32BE(pos)) if (buf.toString('latin1', pos + 4, pos + 8) === type) n++;
  return n;
}

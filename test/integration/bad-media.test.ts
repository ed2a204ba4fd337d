/**
 * Issue 8's bad-media reproductions, end to end: broken NAL framing is refused at ingest (4006,
 * nothing stored) and, when it is on disk anyway, playback answers without a 500; a CodecID the
 * packagers do not support leaves its fragments out of a session instead of refusing the range;
 * deeply nested fMP4 is 4006 (not 5000); empty and header-only bodies get an ERROR ACK.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../support/auth.ts';
import { makeFragmentedMp4 } from '../support/media.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { VIDEO_TRACK, mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';

let srv: TestServer;
let dataDir: string;
const T0 = Date.now() - 600_000;

async function call(op: string, body: unknown): Promise<Response> {
  return signedFetch(`${srv.url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function listed(stream: string): Promise<string[]> {
  const r = await call('listFragments', { StreamName: stream, FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: 0, EndTimestamp: 4e9 } } });
  expect(r.status).toBe(200);
  return ((await r.json()) as { Fragments: Array<{ FragmentNumber: string }> }).Fragments.map((f) => f.FragmentNumber).sort();
}

const range = () => ({ FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: T0 / 1000, EndTimestamp: (Date.now() - 1) / 1000 } });

async function session(stream: string, body: Record<string, unknown>): Promise<{ status: number; url?: URL; error?: string }> {
  const r = await call('getHLSStreamingSessionURL', { StreamName: stream, PlaybackMode: 'ON_DEMAND', HLSFragmentSelector: range(), ...body });
  const json = (await r.json()) as { HLSStreamingSessionURL?: string };
  return { status: r.status, ...(json.HLSStreamingSessionURL ? { url: new URL(json.HLSStreamingSessionURL) } : {}), error: r.headers.get('x-amzn-errortype') ?? '' };
}

function segmentUrl(master: URL, fragmentNumber: string, ts: boolean): URL {
  const token = encodeURIComponent(master.searchParams.get('SessionToken')!);
  return new URL(ts ? `getTSFragment.ts?FragmentNumber=${fragmentNumber}&SessionToken=${token}` : `getMP4MediaFragment.mp4?FragmentNumber=${fragmentNumber}&SessionToken=${token}&TrackNumber=1`, master);
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-badmedia-'));
  srv = await startTestServer({ dataDir });
});
afterAll(async () => {
  await srv.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('bad media never reaches a player as a 500', () => {
  it('a frame whose NAL length overruns it ⇒ ERROR 4006; the fragments before it are stored, it is not', async () => {
    expect((await call('createStream', { StreamName: 'nal', DataRetentionInHours: 24 })).status).toBe(200);
    const bad = mkvCluster({ timecode: T0 + 2000 });
    // The first frame's 4-byte length prefix follows the SimpleBlock header; claim 64 KiB.
    const at = bad.indexOf(Buffer.from([0, 0, 0x03, 0xe4]));
    bad.writeUInt32BE(0xffff, at);
    const put = await rawPutMedia(srv.url, 'nal', [Buffer.concat([mkvHeader(), mkvCluster({ timecode: T0 }), mkvCluster({ timecode: T0 + 1000 }), bad])]);
    expect(put.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(2);
    expect(put.acks.at(-1)).toMatchObject({ EventType: 'ERROR', ErrorId: 4006, ErrorCode: 'INVALID_MKV_DATA' });
    expect(await listed('nal')).toHaveLength(2);
  });

  it('a fragment damaged on disk: its HLS TS and fMP4 segments are a clean answer (the track cut, or InvalidMediaFrameException), never a 500', async () => {
    expect((await call('createStream', { StreamName: 'disk', DataRetentionInHours: 24 })).status).toBe(200);
    const clusters = [0, 1, 2].map((i) => mkvCluster({ timecode: T0 + i * 1000, seed: 40 + i * 50, frameBytes: 777 }));
    const put = await rawPutMedia(srv.url, 'disk', [Buffer.concat([mkvHeader(), ...clusters])]);
    expect(put.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(3);
    const [first, second] = await listed('disk');

    // Break NAL length prefixes in the stored bytes: fragment 1 at its first frame, fragment 2 at its fifth.
    await srv.close();
    const files = fs.readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.seg'));
    expect(files.length).toBeGreaterThan(0);
    let damaged = 0;
    for (const f of files) {
      const file = path.join(f.parentPath, f.name);
      const bytes = fs.readFileSync(file);
      for (const [seed, frame] of [[40, 0], [90, 4]] as const) {
        const fill = (seed + frame + 1) & 0xff;
        const i = bytes.indexOf(Buffer.from([0, 0, 0x03, 0x05, fill, fill, fill, fill])); // 773 = 777 - 4
        if (i >= 0) {
          bytes.writeUInt32BE(0x7fffffff, i);
          damaged++;
        }
      }
      fs.writeFileSync(file, bytes);
    }
    expect(damaged).toBe(2);
    srv = await startTestServer({ dataDir });

    for (const container of ['MPEG_TS', 'FRAGMENTED_MP4']) {
      const s = await session('disk', { ContainerFormat: container });
      expect(s.status).toBe(200);
      const ts = container === 'MPEG_TS';
      const whole = await fetch(segmentUrl(s.url!, first!, ts));
      expect(whole.status).toBe(400);
      expect(whole.headers.get('x-amzn-errortype')).toMatch(/InvalidMediaFrameException/);
      const cut = await fetch(segmentUrl(s.url!, second!, ts));
      expect(cut.status).toBe(200);
      expect((await cut.arrayBuffer()).byteLength).toBeGreaterThan(4 * 773);
    }
    const dash = await call('getDASHStreamingSessionURL', { StreamName: 'disk', PlaybackMode: 'ON_DEMAND', DASHFragmentSelector: range() });
    expect(dash.status).toBe(200);
    const mpd = await fetch(((await dash.json()) as { DASHStreamingSessionURL: string }).DASHStreamingSessionURL);
    expect(mpd.status).toBe(200);
    const clip = await call('getClip', { StreamName: 'disk', ClipFragmentSelector: range() });
    expect(clip.status).toBe(200);
    expect((await clip.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });

  it('a CodecID the packagers do not support is stored; HLS/DASH sessions leave its fragments out instead of refusing the range', async () => {
    expect((await call('createStream', { StreamName: 'codec', DataRetentionInHours: 24 })).status).toBe(200);
    const good = (t: number) => Buffer.concat([mkvHeader(), mkvCluster({ timecode: t })]);
    const flipped = Buffer.concat([mkvHeader({ tracks: [{ ...VIDEO_TRACK, codecId: 'V_MPEG4/ISO/AVD' }] }), mkvCluster({ timecode: T0 + 1000 })]);
    for (const body of [flipped, good(T0 + 2000)]) {
      const put = await rawPutMedia(srv.url, 'codec', [body]);
      expect(put.acks.map((a) => a.EventType)).toEqual(['BUFFERING', 'RECEIVED', 'PERSISTED']);
    }
    const [badFragment, goodFragment] = await listed('codec');
    const dash = await call('getDASHStreamingSessionURL', { StreamName: 'codec', PlaybackMode: 'ON_DEMAND', DASHFragmentSelector: range() });
    expect(dash.status).toBe(200);
    const mpd = await (await fetch(((await dash.json()) as { DASHStreamingSessionURL: string }).DASHStreamingSessionURL)).text();
    expect(mpd).toContain(goodFragment);
    expect(mpd).not.toContain(badFragment);
    const hls = await session('codec', {});
    const playlist = await (await fetch(new URL(`getHLSMediaPlaylist.m3u8?SessionToken=${encodeURIComponent(hls.url!.searchParams.get('SessionToken')!)}&TrackNumber=1`, hls.url!))).text();
    expect(playlist).toContain(goodFragment);
    expect(playlist).not.toContain(badFragment);
    // Its own segment, asked for directly, is the KVS codec error; a range of only it is refused with it.
    const direct = await fetch(segmentUrl(hls.url!, badFragment!, false));
    expect(direct.status).toBe(400);
    expect(direct.headers.get('x-amzn-errortype')).toMatch(/UnsupportedStreamMediaTypeException/);
    const onlyBad = await call('getHLSStreamingSessionURL', {
      StreamName: 'codec', PlaybackMode: 'ON_DEMAND',
      HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: (T0 + 500) / 1000, EndTimestamp: (T0 + 1500) / 1000 } },
    });
    expect(onlyBad.status).toBe(400);
    expect(onlyBad.headers.get('x-amzn-errortype')).toMatch(/UnsupportedStreamMediaTypeException/);
  });

  it('fMP4 with thousands of nested boxes in its moov ⇒ 4006, never 5000; an empty or header-only body ⇒ ERROR 4006', async () => {
    expect((await call('createStream', { StreamName: 'odd', DataRetentionInHours: 24 })).status).toBe(200);
    const mp4 = fs.readFileSync(await makeFragmentedMp4({ seconds: 1, fps: 10, gop: 10, size: '160x120' }));
    const moovAt = mp4.indexOf(Buffer.from('moov', 'latin1')) - 4;
    const moovSize = mp4.readUInt32BE(moovAt);
    const depth = 40_000;
    const nested = Buffer.alloc(8 * depth);
    for (let i = 0; i < depth; i++) {
      nested.writeUInt32BE(8 * (depth - i), 8 * i);
      nested.write('trak', 8 * i + 4, 'latin1');
    }
    const moov = Buffer.concat([mp4.subarray(moovAt, moovAt + moovSize), nested]);
    moov.writeUInt32BE(moov.length, 0);
    const deep = await rawPutMedia(srv.url, 'odd', [Buffer.concat([mp4.subarray(0, moovAt), moov, mp4.subarray(moovAt + moovSize)])]);
    expect(deep.acks.at(-1)).toMatchObject({ EventType: 'ERROR', ErrorId: 4006 });

    const empty = await rawPutMedia(srv.url, 'odd', []);
    expect(empty.status).toBe(200);
    expect(empty.acks).toEqual([expect.objectContaining({ EventType: 'ERROR', ErrorId: 4006, ErrorCode: 'INVALID_MKV_DATA' })]);
    const headerOnly = await rawPutMedia(srv.url, 'odd', [mkvHeader()]);
    expect(headerOnly.acks).toEqual([expect.objectContaining({ EventType: 'ERROR', ErrorId: 4006 })]);
    const fmp4HeaderOnly = await rawPutMedia(srv.url, 'odd', [mp4.subarray(0, moovAt + moovSize)]);
    expect(fmp4HeaderOnly.acks).toEqual([expect.objectContaining({ EventType: 'ERROR', ErrorId: 4006 })]);
    expect(await listed('odd')).toEqual([]);
  });
});

/**
 * Disk pressure on a real, small filesystem: a 64 MiB tmpfs this test mounts itself (we run as
 * root in CI). A filler file plays "something else filled the disk" so the scenario gets there fast.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegmentMediaStore } from '../../src/store/segment-store.ts';
import { signedFetch } from '../support/auth.ts';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { rawPutMedia, type Ack } from '../support/raw-put-media.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { firstValue } from '../support/wait.ts';

const MiB = 1024 * 1024;
const FLOOR = 8 * MiB;
const RESERVE = 2 * MiB;

/** Mounts a tmpfs of `size` on a fresh directory; the reason when that is impossible (not root, a sandbox without mount). */
function mountTmpfs(size: string): { dir: string; ok: true } | { dir: string; ok: false; reason: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-diskfull-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir, ok: true };
  } catch (err) {
    fs.rmdirSync(dir);
    const e = err as { stderr?: Buffer; message: string };
    return { dir, ok: false, reason: `cannot mount a tmpfs here (${e.stderr?.toString().trim() || e.message}); needs root / CAP_SYS_ADMIN` };
  }
}

/** Decided once at load time with a throwaway mount, so that suites mount in beforeAll (and never leak one when filtered out). */
const probe = mountTmpfs('1m');
if (probe.ok) unmount(probe.dir);
const skipReason = probe.ok ? '' : ` — SKIPPED: ${probe.reason}`;

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
  fs.rmdirSync(dir);
}

const freeBytes = (dir: string): number => {
  const st = fs.statfsSync(dir);
  return st.bavail * st.bsize;
};

/** Grows `file` until the filesystem has at most `targetFree` bytes free (0: until ENOSPC). Synchronous on purpose. */
function fillTo(file: string, targetFree: number): void {
  const fd = fs.openSync(file, 'a');
  try {
    for (let chunk = MiB; chunk >= 4096; ) {
      const free = freeBytes(path.dirname(file));
      if (free <= targetFree) return;
      const n = Math.min(chunk, Math.max(4096, free - targetFree));
      try {
        fs.writeSync(fd, Buffer.alloc(n, 0x5a));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        chunk >>= 1;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

const fragment = (i: number): Buffer => mkvCluster({ timecode: i * 1000, frames: 25, frameBytes: 4000, seed: i });

describe.skipIf(!probe.ok)(`disk full on a 64 MiB tmpfs${skipReason}`, () => {
  const mount = { dir: '' };
  let dataDir = '';
  let filler = '';
  let ts: TestServer;

  const call = async (op: string, body: unknown): Promise<{ status: number; type: string; json: Record<string, unknown> }> => {
    const res = await signedFetch(`${ts.url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('x-amzn-errortype') ?? '', json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const ok = async (op: string, body: unknown): Promise<Record<string, unknown>> => {
    const r = await call(op, body);
    expect(r.status, `${op}: ${r.type} ${JSON.stringify(r.json)}`).toBe(200);
    return r.json;
  };
  const list = async (stream: string): Promise<Array<{ FragmentNumber: string; ProducerTimestamp: number; FragmentSizeInBytes: number }>> => {
    const body = await ok('listFragments', {
      StreamName: stream,
      MaxResults: 1000,
      FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: 0, EndTimestamp: 4e9 } },
    });
    const frags = body.Fragments as Array<{ FragmentNumber: string; ProducerTimestamp: number; FragmentSizeInBytes: number }>;
    return frags.sort((a, b) => a.ProducerTimestamp - b.ProducerTimestamp);
  };
  const push = (stream: string, from: number, count: number, onAck?: (a: Ack) => void) =>
    rawPutMedia(ts.url, stream, (function* () {
      yield mkvHeader();
      for (let i = from; i < from + count; i++) yield fragment(i);
    })(), {}, onAck);
  const stats = () => ts.server.diskPressure!.stats();

  beforeAll(async () => {
    const m = mountTmpfs('64m');
    if (!m.ok) throw new Error(m.reason);
    mount.dir = m.dir;
    dataDir = path.join(m.dir, 'data');
    filler = path.join(m.dir, 'filler');
    ts = await startTestServer({ dataDir, storage: { minFreeSpace: { bytes: FLOOR }, checkIntervalMs: 100, reserveBytes: RESERVE } });
  });
  afterAll(async () => {
    await ts?.close();
    if (mount.dir) unmount(mount.dir);
  });

  it('holds a real (non-sparse) reserve file', () => {
    const st = fs.statSync(path.join(dataDir, 'reserve'));
    expect(st.size).toBe(RESERVE);
    expect(st.blocks * 512).toBeGreaterThanOrEqual(RESERVE);
    expect(stats().reserveHeld).toBe(true);
  });

  it('near the floor, producers keep working: the oldest fragments are evicted', async () => {
    await ok('createStream', { StreamName: 'cam-a', DataRetentionInHours: 24 });
    fillTo(filler, FLOOR + 3 * MiB);
    const res = await push('cam-a', 0, 100);
    expect(res.acks.filter((a) => a.EventType === 'ERROR')).toEqual([]);
    expect(res.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(100);
    expect(stats().evictedSegments).toBeGreaterThan(0);
    expect(stats().evictedFragments).toBeGreaterThan(0);
    const listed = await list('cam-a');
    expect(listed.length).toBeLessThan(100);
    expect(listed[0]!.ProducerTimestamp).toBeGreaterThan(0); // the oldest are gone…
    expect(listed.at(-1)!.ProducerTimestamp).toBe(99); // …the newest are all there
    expect(freeBytes(mount.dir)).toBeGreaterThanOrEqual(FLOOR);
    expect(stats().refusedAppends).toBe(0);
  });

  it('when eviction cannot help, producers get 5001 and everything else keeps answering', async () => {
    await ok('createStream', { StreamName: 'cam-b', DataRetentionInHours: 24 });
    fillTo(filler, 0);
    // Everything evictable goes; then the floor cannot be met and appends are refused.
    await firstValue('eviction to run out', () => stats().reserveReleases > 0);
    const refused = await push('cam-b', 0, 5);
    const error = refused.acks.find((a) => a.EventType === 'ERROR');
    expect(error).toMatchObject({ ErrorId: 5001, ErrorCode: 'ARCHIVAL_ERROR' });
    expect(refused.acks.filter((a) => a.EventType === 'PERSISTED')).toEqual([]);
    expect(stats().refusedAppends).toBeGreaterThan(0);
    // The rest of the server is unharmed.
    expect((await ok('describeStream', { StreamName: 'cam-a' })).StreamInfo).toMatchObject({ Status: 'ACTIVE' });
    expect(((await ok('listStreams', {})).StreamInfoList as unknown[]).length).toBe(2);
    await list('cam-a');
    await ok('getDataEndpoint', { StreamName: 'cam-b', APIName: 'PUT_MEDIA' });
  });

  it('control-plane writes succeed on the full disk (the reserve was released for them)', async () => {
    expect(stats().reserveHeld).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'reserve'))).toBe(false);
    await ok('createStream', { StreamName: 'cam-c', DataRetentionInHours: 24 });
    const b = (await ok('describeStream', { StreamName: 'cam-b' })).StreamInfo as { StreamARN: string; Version: string };
    await ok('updateDataRetention', { StreamName: 'cam-b', CurrentVersion: b.Version, Operation: 'INCREASE_DATA_RETENTION', DataRetentionChangeInHours: 1 });
    await ok('deleteStream', { StreamARN: b.StreamARN });
    expect((await call('describeStream', { StreamName: 'cam-b' })).status).toBe(404);
  });

  it('with not even the reserve left, control-plane writes fail with a KVS error, never a raw 500', async () => {
    // SQLite may still fit a write into WAL pages it already owns (200); otherwise ServiceUnavailable.
    fillTo(filler, 0);
    for (let i = 0; i < 5; i++) {
      const r = await call('createStream', { StreamName: `full-${i}`, DataRetentionInHours: 24, Tags: { pad: 'x'.repeat(200) } });
      expect(r.status, JSON.stringify(r)).not.toBe(500);
      if (r.status !== 200) expect(r).toMatchObject({ status: 503, type: expect.stringMatching(/^ServiceUnavailable:/) });
    }
  });

  it('once space is freed, the reserve comes back and ingest resumes', async () => {
    fs.truncateSync(filler, Math.max(0, fs.statSync(filler).size - 30 * MiB));
    await firstValue('the reserve to be rewritten', () => stats().reserveHeld);
    expect(fs.statSync(path.join(dataDir, 'reserve')).size).toBe(RESERVE);
    for (const [stream, from] of [['cam-c', 0], ['cam-a', 100]] as const) {
      const res = await push(stream, from, 30);
      expect(res.acks.filter((a) => a.EventType === 'ERROR')).toEqual([]);
      expect(res.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(30);
    }
  });

  it('DeleteStream frees the stream\'s media bytes', async () => {
    const c = (await ok('describeStream', { StreamName: 'cam-c' })).StreamInfo as { StreamARN: string };
    const stored = (await list('cam-c')).reduce((n, f) => n + f.FragmentSizeInBytes, 0);
    expect(stored).toBeGreaterThan(2 * MiB);
    const before = freeBytes(mount.dir);
    const dirsBefore = fs.readdirSync(path.join(dataDir, 'media'));
    await ok('deleteStream', { StreamARN: c.StreamARN });
    // The index's WAL grows a little by the delete itself: allow it 10% of what the media freed.
    await firstValue('the bytes to be freed', () => freeBytes(mount.dir) - before >= stored * 0.9);
    const dirsAfter = fs.readdirSync(path.join(dataDir, 'media'));
    expect(dirsAfter.length).toBe(dirsBefore.length - 1);
  });

  it('leaves index and media consistent: every listed fragment readable, no orphan bytes', async () => {
    const streams = (await ok('listStreams', {})).StreamInfoList as Array<{ StreamName: string }>;
    expect(streams.map((s) => s.StreamName)).toContain('cam-a');
    for (const { StreamName } of streams) {
      const frags = await list(StreamName);
      if (frags.length === 0) continue;
      const res = await signedFetch(`${ts.url}/getMediaForFragmentList`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ StreamName, Fragments: frags.map((f) => f.FragmentNumber) }),
      });
      expect(res.status).toBe(200);
      const collector = new GetMediaCollector();
      collector.push(Buffer.from(await res.arrayBuffer()));
      expect(collector.numbers).toEqual(frags.map((f) => f.FragmentNumber));
    }
    // Every segment file ends exactly where its last committed fragment does, and rows tile it.
    const db = new Database(path.join(dataDir, 'index.sqlite'), { readonly: true });
    try {
      const mediaRoot = path.join(dataDir, 'media');
      for (const dir of fs.readdirSync(mediaRoot)) {
        const rows = db
          .prepare('SELECT segment, MAX(byte_offset + byte_length) AS end, SUM(byte_length) AS total FROM fragments WHERE stream_id = ? GROUP BY segment')
          .all(Number(dir)) as Array<{ segment: string; end: number; total: number }>;
        const bySegment = new Map(rows.map((r) => [r.segment + '.seg', r]));
        for (const file of fs.readdirSync(path.join(mediaRoot, dir))) {
          const size = fs.statSync(path.join(mediaRoot, dir, file)).size;
          const row = bySegment.get(file);
          expect({ file, size }).toEqual({ file, size: row?.end ?? 0 });
          if (row) expect(row.total).toBe(row.end);
        }
      }
    } finally {
      db.close();
    }
  });
});

describe.skipIf(!probe.ok)(`failed appends on a 2 MiB tmpfs${skipReason}`, () => {
  const small = { dir: '' };
  beforeAll(() => {
    const m = mountTmpfs('2m');
    if (!m.ok) throw new Error(m.reason);
    small.dir = m.dir;
  });
  afterAll(() => {
    if (small.dir) unmount(small.dir);
  });

  it('an append that hits ENOSPC is cut off at once and the next append lands right after the last good one', async () => {
    const store = new SegmentMediaStore(path.join(small.dir, 'media'));
    const chunk = Buffer.alloc(300 * 1024, 7);
    const good: Array<{ offset: number; length: number; segment: string }> = [];
    let failure: unknown;
    for (let i = 0; i < 20 && !failure; i++) {
      await store.append(1, [chunk]).then((loc) => good.push(loc), (err: unknown) => (failure = err));
    }
    expect((failure as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(store.reclaimedAppends).toBe(1);
    const last = good.at(-1)!;
    const end = last.offset + last.length;
    expect(await store.segmentSize(1, last.segment)).toBe(end);
    // Space the failed append would have wasted is available again: a small append fits and reads back.
    const tail = Buffer.from('after the failure');
    const loc = await store.append(1, [tail]);
    expect(loc).toEqual({ segment: last.segment, offset: end, length: tail.length });
    expect((await store.read(1, loc)).equals(tail)).toBe(true);
    expect(await store.segmentSize(1, last.segment)).toBe(end + tail.length);
    await store.close();
  });
});

describe('per-stream size cap (--max-bytes)', () => {
  it("evicts a stream's oldest segments once it holds more than its cap, and leaves other streams alone", async () => {
    const cap = 2 * MiB;
    const ts = await startTestServer({ storage: { minFreeSpace: { bytes: 0 }, maxBytesPerStream: cap, checkIntervalMs: 20 } });
    try {
      const post = (op: string, body: unknown) =>
        signedFetch(`${ts.url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      for (const name of ['big', 'small']) expect((await post('createStream', { StreamName: name, DataRetentionInHours: 24 })).status).toBe(200);
      const pushN = (stream: string, count: number) =>
        rawPutMedia(ts.url, stream, (function* () {
          yield mkvHeader();
          for (let i = 0; i < count; i++) yield fragment(i);
        })());
      const big = await pushN('big', 60); // ~6 MiB
      const small = await pushN('small', 10); // ~1 MiB
      expect(big.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(60);
      expect(small.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(10);
      const mediaBytes = (stream: string) => {
        const dir = path.join(ts.dataDir, 'media', String(stream === 'big' ? 1 : 2));
        return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
      };
      await firstValue('the big stream to fit its cap', () => mediaBytes('big') <= cap);
      const stats = ts.server.diskPressure!.stats();
      expect(stats.evictedFragments).toBeGreaterThan(30);
      expect(mediaBytes('small')).toBeGreaterThan(900_000);
      const listed = await post('listFragments', {
        StreamName: 'small',
        FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: 0, EndTimestamp: 4e9 } },
      });
      expect(((await listed.json()) as { Fragments: unknown[] }).Fragments).toHaveLength(10);
    } finally {
      await ts.close();
    }
  });
});

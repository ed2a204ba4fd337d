import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { DetectorLike } from '../../../src/detect/types.ts';
import { KestrelMetrics, countRefusal, metrics } from '../../../src/ops/metrics.ts';
import { Readiness, folderWritable, sqliteWritable } from '../../../src/ops/readiness.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-ops-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The value of one sample in the exposition text (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('readiness', () => {
  it('is ready while the index and the folder take writes; names what fails, without paths', async () => {
    const db = new Database(path.join(dir, 'index.sqlite'));
    const folder = path.join(dir, 'media');
    fs.mkdirSync(folder);
    const r = new Readiness({ index: sqliteWritable(db), disk: folderWritable(folder) }, { cacheMs: 0 });
    expect(await r.check()).toEqual({ ready: true, failing: [] });
    expect(fs.readdirSync(folder)).toEqual([]);

    fs.rmSync(folder, { recursive: true });
    fs.writeFileSync(folder, 'not a folder');
    db.close();
    const report = await r.check();
    expect(report).toEqual({ ready: false, failing: ['disk: not writable (ENOTDIR)', 'index: not writable'] });
    expect(JSON.stringify(report)).not.toContain(dir);
  });

  it('a hung check fails on its timeout; results are cached briefly', async () => {
    let calls = 0;
    const r = new Readiness({ slow: () => new Promise<void>(() => void calls++) }, { timeoutMs: 50, cacheMs: 60_000 });
    expect(await r.check()).toEqual({ ready: false, failing: ['slow: not writable (TIMEOUT)'] });
    await r.check();
    expect(calls).toBe(1);
  });
});

describe('metrics', () => {
  it('counts persisted fragments and bytes per stream, folding streams beyond the cap into _other', async () => {
    const m = new KestrelMetrics({ dataDir: dir, maxStreams: 2 });
    m.fragmentPersisted('a', 100);
    m.fragmentPersisted('a', 50);
    m.fragmentPersisted('b', 10);
    m.fragmentPersisted('c', 1);
    m.fragmentPersisted('d', 2);
    let text = await m.render();
    expect(sample(text, 'kestrel_ingest_fragments_total{stream="a"}')).toBe(2);
    expect(sample(text, 'kestrel_ingest_bytes_total{stream="a"}')).toBe(150);
    expect(sample(text, 'kestrel_ingest_bytes_total{stream="_other"}')).toBe(3);
    expect(sample(text, 'kestrel_ingest_fragments_total{stream="c"}')).toBeUndefined();
    expect(sample(text, 'kestrel_metrics_stream_overflow_total')).toBe(2);
    // A deleted stream frees its slot.
    m.forgetStream('a');
    m.fragmentPersisted('c', 5);
    text = await m.render();
    expect(sample(text, 'kestrel_ingest_fragments_total{stream="a"}')).toBeUndefined();
    expect(sample(text, 'kestrel_ingest_bytes_total{stream="c"}')).toBe(5);
  });

  it('times RECEIVED → PERSISTED and counts ERROR ACKs by code', async () => {
    const m = new KestrelMetrics({ dataDir: dir });
    const observe = m.ackObserver('cam');
    const ack = (o: object) => observe(JSON.stringify(o) + '\n');
    ack({ EventType: 'BUFFERING', FragmentNumber: '1' });
    ack({ EventType: 'RECEIVED', FragmentNumber: '1' });
    ack({ EventType: 'PERSISTED', FragmentNumber: '1' });
    ack({ EventType: 'PERSISTED', FragmentNumber: 'never-received' });
    ack({ EventType: 'ERROR', FragmentNumber: '2', ErrorId: 4004, ErrorCode: 'FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS' });
    ack({ EventType: 'ERROR', ErrorCode: 'not a code {}' });
    observe('garbage');
    const text = await m.render();
    expect(sample(text, 'kestrel_ingest_persist_latency_seconds_count')).toBe(1);
    expect(sample(text, 'kestrel_ingest_errors_total{stream="cam",code="FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS"}')).toBe(1);
    expect(sample(text, 'kestrel_ingest_errors_total{stream="cam",code="UNKNOWN"}')).toBe(1);
  });

  it('reads gauges at scrape time and times the detector', async () => {
    let readers = 3;
    const m = new KestrelMetrics({ dataDir: dir, activeGetMediaReaders: () => readers, queueDepths: () => ({ outbox: 7, kvs_images: 0 }) });
    const inner: DetectorLike = { inputSize: { width: 2, height: 2 }, detect: async () => [] };
    const detector = m.timedDetector(inner);
    await detector.detect({ width: 2, height: 2, rgb: new Uint8Array(12) });
    let text = await m.render();
    expect(sample(text, 'kestrel_getmedia_active_readers')).toBe(3);
    expect(sample(text, 'kestrel_queue_depth{queue="outbox"}')).toBe(7);
    expect(sample(text, 'kestrel_detection_frames_total')).toBe(1);
    expect(sample(text, 'kestrel_detection_latency_seconds_count')).toBe(1);
    expect(sample(text, 'kestrel_disk_free_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'kestrel_disk_size_bytes')).toBeGreaterThanOrEqual(sample(text, 'kestrel_disk_free_bytes')!);
    readers = 0;
    text = await m.render();
    expect(sample(text, 'kestrel_getmedia_active_readers')).toBe(0);
  });

  it('process-wide refusals and evictions appear in every server\'s output; reasons are capped', async () => {
    const m = new KestrelMetrics({ dataDir: dir });
    const before = sample(await m.render(), 'kestrel_refused_requests_total{reason="unit_test"}') ?? 0;
    countRefusal('unit_test');
    metrics.evictions.inc(2);
    for (let i = 0; i < 40; i++) countRefusal(`flood_${i}`);
    const text = await m.render();
    expect(sample(text, 'kestrel_refused_requests_total{reason="unit_test"}')).toBe(before + 1);
    expect(sample(text, 'kestrel_evicted_fragments_total')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'kestrel_refused_requests_total{reason="other"}')).toBeGreaterThan(0);
    expect(text.match(/^kestrel_refused_requests_total\{/gm)!.length).toBeLessThanOrEqual(33);
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});

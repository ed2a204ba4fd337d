/**
 * A GetMedia reader too slow for live: a real `kestrel serve` process, a producer pushing ~1 MB
 * fragments, one reader that reads everything at once and one that trickles (a chunk every 200 ms).
 * The slow reader's queue is bounded (--reader-queue-size): it gets a WRITE_ERROR chunk and the
 * end of its response; the fast reader gets every fragment; the server's memory stays bounded.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '../support/auth.ts';
import { sampleRss } from '../support/fuzz.ts';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { createStream, listAll } from '../support/live-push.ts';
import { rawPutMedia, type Ack } from '../support/raw-put-media.ts';
import { spawnScratchServer } from '../support/server-process.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { until } from '../support/wait.ts';

const METRICS_TOKEN = 'slow-reader-metrics-token';
const QUEUE_BYTES = 8 * 1024 * 1024;
const FRAGMENTS = 80; // per phase
const FRAME_BYTES = 40_000; // 25 frames: ~1 MB per fragment

function getMedia(url: string, stream: string): Promise<http.IncomingMessage> {
  const target = `${url}/getMedia`;
  const body = Buffer.from(JSON.stringify({ StreamName: stream, StartSelector: { StartSelectorType: 'NOW' } }));
  const headers = signedHeaders('POST', target, { 'content-type': 'application/json' }, body);
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'POST', headers }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

async function metric(url: string, name: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

describe('GetMedia reader too slow for live', () => {
  let server: Awaited<ReturnType<typeof spawnScratchServer>>;
  beforeAll(async () => {
    server = await spawnScratchServer('kestrel-slow-reader-', {
      KESTREL_READER_QUEUE_SIZE: String(QUEUE_BYTES),
      KESTREL_METRICS_TOKEN: METRICS_TOKEN,
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('ends the slow reader with WRITE_ERROR, keeps memory bounded, and serves the fast reader everything', async () => {
    const { url } = server;
    await createStream(url, 'slow-reader');
    const fast = new GetMediaCollector();
    const fastRes = await getMedia(url, 'slow-reader');
    expect(fastRes.statusCode).toBe(200);
    fastRes.on('data', (c: Buffer) => fast.push(c));
    const fastEnded = new Promise<void>((resolve) => fastRes.once('close', () => resolve()));

    // The producer sends the next fragment once the previous one is PERSISTED (no burst beyond the rate limit).
    const t0 = Date.now() - 2 * FRAGMENTS * 1000;
    async function push(first: number): Promise<void> {
      let persisted = 0;
      let next: (() => void) | undefined;
      const onAck = (a: Ack) => {
        if (a.EventType === 'PERSISTED') persisted++;
        next?.();
      };
      async function* body(): AsyncGenerator<Buffer> {
        yield mkvHeader();
        for (let i = 0; i < FRAGMENTS; i++) {
          while (persisted < i) await new Promise<void>((r) => (next = r));
          yield mkvCluster({ timecode: t0 + (first + i) * 1000, frameBytes: FRAME_BYTES });
        }
      }
      const put = await rawPutMedia(url, 'slow-reader', body(), {}, onAck);
      expect(put.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(FRAGMENTS);
    }

    // Phase 1, the same-run baseline: only the fast reader. Its RSS peak is what ingest and reading cost.
    const phase1 = sampleRss(server.child.pid!);
    await push(0);
    await until(() => fast.complete.length === FRAGMENTS, 'phase 1 at the fast reader', 60_000);
    const baseline = phase1.stop().peak;

    // Phase 2: the same again with a reader that trickles (one chunk every 200 ms).
    const slow = new GetMediaCollector();
    const slowRes = await getMedia(url, 'slow-reader');
    expect(slowRes.statusCode).toBe(200);
    let trickle = true;
    const slowEnded = new Promise<void>((resolve) => slowRes.once('close', () => resolve()));
    slowRes.on('data', (c: Buffer) => {
      slow.push(c);
      if (!trickle) return;
      slowRes.pause();
      setTimeout(() => slowRes.resume(), 200).unref();
    });
    const phase2 = sampleRss(server.child.pid!);
    const queuePeaks: number[] = [];
    const sampler = setInterval(() => void metric(url, 'kestrel_reader_queue_bytes').then((n) => queuePeaks.push(n), () => {}), 250);
    await push(FRAGMENTS);
    await until(() => fast.complete.length === 2 * FRAGMENTS, 'every fragment at the fast reader', 60_000);
    await until(async () => (await metric(url, 'kestrel_getmedia_too_slow_total')) === 1, 'the slow reader ended as too slow', 60_000);
    clearInterval(sampler);
    const { peak } = phase2.stop();

    // Let the slow reader read what is left: its last chunk is the error, then the response ends.
    trickle = false;
    slowRes.resume();
    await slowEnded;
    const last = slow.fragments.at(-1)!;
    expect(last.tagsBefore).toMatchObject({ AWS_KINESISVIDEO_ERROR_ID: '3002', AWS_KINESISVIDEO_ERROR_CODE: 'WRITE_ERROR' });
    expect(last.tagsBefore.AWS_KINESISVIDEO_SERVER_TIMESTAMP).toBeUndefined();
    const listed = (await listAll(url, 'slow-reader')).map((f) => f.FragmentNumber).sort();
    // What it did get is a gap-free run from NOW on; the error names the first fragment it missed.
    const got = slow.complete.map((f) => f.tagsBefore.AWS_KINESISVIDEO_FRAGMENT_NUMBER!);
    const from = listed.indexOf(got[0]!);
    expect(from).toBeGreaterThanOrEqual(FRAGMENTS - 1);
    expect(got).toEqual(listed.slice(from, from + got.length));
    expect(from + got.length).toBeLessThan(2 * FRAGMENTS);
    expect(listed).toContain(last.tagsBefore.AWS_KINESISVIDEO_FRAGMENT_NUMBER);
    expect(last.tagsBefore.AWS_KINESISVIDEO_FRAGMENT_NUMBER! > got.at(-1)!).toBe(true);

    // The fast reader got every fragment, in order, and is still open.
    expect(fast.numbers).toEqual(listed);
    expect(fastRes.destroyed).toBe(false);
    fastRes.destroy();
    await fastEnded;

    expect(await metric(url, 'kestrel_reader_queue_overflows_total')).toBe(1);
    expect(await metric(url, 'kestrel_reader_queue_discarded_total')).toBeGreaterThan(0);
    expect(await metric(url, 'kestrel_reader_queue_bytes')).toBe(0);
    // Never more queued than the bound allows for the two readers (plus one fragment each).
    expect(Math.max(...queuePeaks.filter((n) => Number.isFinite(n)))).toBeLessThanOrEqual(2 * (QUEUE_BYTES + 1_100_000));
    // ~80 MB went past the slow reader in phase 2; an unbounded queue would have kept most of it on top of phase 1's peak.
    console.log(`slow reader: RSS peak ${(baseline / 2 ** 20).toFixed(0)} MiB with the fast reader alone, ${(peak / 2 ** 20).toFixed(0)} MiB with the slow one too; slow reader got ${got.length}/${FRAGMENTS}`);
    expect(peak - baseline).toBeLessThan(40 * 2 ** 20);
  });
});

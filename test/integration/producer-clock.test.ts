/**
 * Producers that send no KVS timing headers (ffmpeg's own HTTP POST, GStreamer
 * souphttpclientsink, curl) get producer timestamps anchored to the server's receive time of
 * their first fragment; producers that send the headers keep KVS behaviour.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { KinesisVideoArchivedMediaClient, ListFragmentsCommand, type Fragment } from '@aws-sdk/client-kinesis-video-archived-media';
import { makeH264Mkv } from '../support/media.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { pieces } from '../support/synthetic-mkv.ts';

let srv: TestServer;
let kvam: KinesisVideoArchivedMediaClient;
let body: Buffer;
/** An empty value is how a client omits a header here (rawPutMedia sends ABSOLUTE by default). */
const NO_TIMING_HEADERS = { 'x-amzn-fragment-timecode-type': '' };

beforeAll(async () => {
  srv = await startTestServer();
  kvam = new KinesisVideoArchivedMediaClient(sdkConfig(srv.url));
  const kv = new KinesisVideoClient(sdkConfig(srv.url));
  for (const name of ['plain', 'absolute']) await kv.send(new CreateStreamCommand({ StreamName: name, DataRetentionInHours: 24 }));
  // Three 1 s GOPs from ffmpeg: cluster timecodes 0, 1000, 2000 (ffmpeg's zero-based clock).
  body = fs.readFileSync(await makeH264Mkv({ seconds: 3, fps: 25, gop: 25, bframes: 0 }));
}, 60_000);

afterAll(async () => srv?.close());

async function list(stream: string, kind: 'SERVER_TIMESTAMP' | 'PRODUCER_TIMESTAMP', start: Date, end: Date): Promise<Fragment[]> {
  const out = await kvam.send(new ListFragmentsCommand({
    StreamName: stream, MaxResults: 1000,
    FragmentSelector: { FragmentSelectorType: kind, TimestampRange: { StartTimestamp: start, EndTimestamp: end } },
  }));
  return (out.Fragments ?? []).sort((a, b) => a.ProducerTimestamp!.getTime() - b.ProducerTimestamp!.getTime());
}

describe('producer clock', () => {
  it('no timing headers: producer timestamps near now; a second push continues in time; PRODUCER_TIMESTAMP finds them', async () => {
    const before = Date.now();
    const first = await rawPutMedia(srv.url, 'plain', pieces(body, 64 * 1024), NO_TIMING_HEADERS);
    expect(first.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(3);
    const between = Date.now();
    const second = await rawPutMedia(srv.url, 'plain', pieces(body, 64 * 1024), NO_TIMING_HEADERS);
    expect(second.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(3);
    const after = Date.now();

    const frags = await list('plain', 'SERVER_TIMESTAMP', new Date(before - 1000), new Date(after + 1000));
    expect(frags).toHaveLength(6);
    const times = frags.map((f) => f.ProducerTimestamp!.getTime());
    // The first push is stamped from its arrival on; the rest follow the cluster timecodes.
    expect(times[0]).toBeGreaterThanOrEqual(before);
    expect(times[0]).toBeLessThanOrEqual(between);
    expect(times.slice(0, 3).map((t) => t - times[0]!)).toEqual([0, 1000, 2000]);
    // These pushes run faster than real time: the second continues where the first ended, not at 1970 and not overlapping.
    const firstEnd = times[2]! + Number(frags[2]!.FragmentLengthInMilliseconds);
    expect(times[3]).toBeGreaterThanOrEqual(firstEnd);
    expect(times[3]).toBeLessThanOrEqual(Math.max(firstEnd, after));
    expect(times.slice(3).map((t) => t - times[3]!)).toEqual([0, 1000, 2000]);
    for (const t of times) expect(t).toBeLessThan(after + 10_000);

    const byProducer = await list('plain', 'PRODUCER_TIMESTAMP', new Date(before - 1000), new Date(after + 5000));
    expect(byProducer.map((f) => f.FragmentNumber)).toEqual(frags.map((f) => f.FragmentNumber));
  }, 60_000);

  it('ABSOLUTE headers: the cluster timecodes are the producer timestamps, as in KVS', async () => {
    const res = await rawPutMedia(srv.url, 'absolute', pieces(body, 64 * 1024), { 'x-amzn-fragment-timecode-type': 'ABSOLUTE' });
    expect(res.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(3);
    const frags = await list('absolute', 'PRODUCER_TIMESTAMP', new Date(0), new Date(10_000));
    expect(frags.map((f) => f.ProducerTimestamp!.getTime())).toEqual([0, 1000, 2000]);
  }, 60_000);
});

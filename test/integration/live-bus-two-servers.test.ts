/**
 * Two Kestrel servers on one NATS: node A takes the PutMedia, node B serves GetMedia NOW and a
 * blocking HLS reload over HTTP. For this test the two share one data folder (index and media), as
 * a cluster shares its PostgreSQL index and object store; node B never ingests, so it can only
 * learn of new fragments from A's announcements on NATS (127.0.0.1:4222).
 */
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signedHeaders } from '../support/auth.ts';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { createStream, hlsUrl, listAll } from '../support/live-push.ts';
import { NATS_URL, freshSubjectPrefix } from '../support/nats.ts';
import { mediaPlaylistUrl, parsePlaylist, text } from '../support/playlists.ts';
import { rawPutMedia, type Ack } from '../support/raw-put-media.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { until } from '../support/wait.ts';

function getMediaNow(url: string, stream: string): Promise<http.IncomingMessage> {
  const target = `${url}/getMedia`;
  const body = Buffer.from(JSON.stringify({ StreamName: stream, StartSelector: { StartSelectorType: 'NOW' } }));
  const headers = signedHeaders('POST', target, { 'content-type': 'application/json' }, body);
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'POST', headers }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

describe('live reads on a node that did not ingest', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('GetMedia NOW and a blocking HLS reload on node B follow a producer on node A', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-two-nodes-'));
    cleanup.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const bus = { url: NATS_URL, subjectPrefix: freshSubjectPrefix() };
    const a: TestServer = await startTestServer({ dataDir, bus });
    cleanup.push(() => a.close());
    const b: TestServer = await startTestServer({ dataDir, bus });
    cleanup.push(() => b.close());
    await createStream(a.url, 'two-nodes');

    // A producer on A that sends its next fragment when the test says so.
    let allowed = 1;
    let persisted = 0;
    let wake: (() => void) | undefined;
    const onAck = (ack: Ack) => {
      if (ack.EventType === 'PERSISTED') persisted++;
      wake?.();
    };
    const t0 = Date.now() - 60_000;
    async function* producer(): AsyncGenerator<Buffer> {
      yield mkvHeader();
      for (let i = 0; i < 5; i++) {
        while (allowed <= i) await new Promise<void>((r) => (wake = r));
        yield mkvCluster({ timecode: t0 + i * 1000 });
      }
    }
    const release = (n: number) => {
      allowed = n;
      wake?.();
    };

    // B: GetMedia NOW before anything is stored.
    const collector = new GetMediaCollector();
    const res = await getMediaNow(b.url, 'two-nodes');
    expect(res.statusCode).toBe(200);
    res.on('data', (c: Buffer) => collector.push(c));
    cleanup.push(() => void res.destroy());

    const putting = rawPutMedia(a.url, 'two-nodes', producer(), {}, onAck);
    await until(() => persisted === 1, 'first fragment persisted on A', 20_000);
    await until(() => collector.complete.length === 1, 'first fragment at the GetMedia reader on B', 20_000);

    // B: a live HLS playlist, then a blocking reload for the next segment, answered when A stores it.
    const session = await hlsUrl(b.url, { StreamName: 'two-nodes', PlaybackMode: 'LIVE' });
    const mediaUrl = mediaPlaylistUrl(await text(session), session);
    const first = parsePlaylist(await text(mediaUrl));
    expect(first.segments).toHaveLength(1);
    const reload = text(`${mediaUrl}&_HLS_msn=${first.segments[0]!.msn + 1}`);
    release(2);
    const next = parsePlaylist(await reload);
    expect(next.segments.map((s) => s.msn)).toEqual([first.segments[0]!.msn, first.segments[0]!.msn + 1]);

    release(5);
    const put = await putting;
    expect(put.acks.filter((x) => x.EventType === 'PERSISTED')).toHaveLength(5);
    await until(() => collector.complete.length === 5, 'all five fragments at the GetMedia reader on B', 20_000);
    const listed = (await listAll(b.url, 'two-nodes')).map((f) => f.FragmentNumber).sort();
    expect(collector.numbers).toEqual(listed);
    expect(collector.fragments.every((f) => f.blocks === 25)).toBe(true);
  });
});

/**
 * Three `kestrel serve` nodes on one fresh PostgreSQL database and NATS, local durability (each
 * node's own data folder, no object store). The producer goes where GetDataEndpoint sends it (node
 * A); GetMedia NOW and HLS LIVE readers on the two other nodes get every fragment live, and every read API
 * (ListFragments, GetMediaForFragmentList, GetClip, HLS ON_DEMAND segments) answers the same bytes
 * on all three nodes — B and C can only have them by edge-pull from A.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { clipOfLastHour, fragmentList, getMediaNow, onDemandSegments, startCluster, type ClusterNode, type TestCluster } from '../support/cluster.ts';
import { createStream, hlsUrl, kvsCall, listAll } from '../support/live-push.ts';
import { mediaPlaylistUrl, parsePlaylist, text } from '../support/playlists.ts';
import { rawPutMedia, type Ack } from '../support/raw-put-media.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { eventually, until } from '../support/wait.ts';

const FRAGMENTS = 6;
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ label: 'cluster3' });
  await Promise.all(['node-1', 'node-2', 'node-3'].map((id) => cluster.start(id)));
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});

describe('three nodes, local durability', () => {
  it('readers on the other two nodes get every fragment live; every read API answers the same bytes on all three', async () => {
    const all = [...cluster.nodes.values()];
    const stream = `three-${randomUUID().slice(0, 8)}`; // NATS subjects are shared with other suites
    await createStream(all[0]!.url, stream);
    const { DataEndpoint } = await kvsCall<{ DataEndpoint: string }>(all[1]!.url, 'getDataEndpoint', { StreamName: stream, APIName: 'PUT_MEDIA' });
    const a = all.find((n) => n.url === DataEndpoint.replace(/\/$/, ''));
    expect(a, `${DataEndpoint} is one of the nodes`).toBeDefined();
    const others = all.filter((n) => n !== a) as [ClusterNode, ClusterNode];

    // GetMedia NOW readers on B and C, connected before the first fragment.
    const readers = await Promise.all(
      others.map(async (node) => {
        const collector = new GetMediaCollector();
        const res = await getMediaNow(node.url, stream);
        expect(res.statusCode).toBe(200);
        const reader = { node, collector, res, ended: false };
        res.on('data', (c: Buffer) => collector.push(c));
        res.on('end', () => (reader.ended = true));
        return reader;
      }),
    );

    // The producer stays connected after its fragments (A keeps the lease) until the test ends it.
    let persisted = 0;
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    let goOn!: () => void;
    const liveSessionsOpen = new Promise<void>((r) => (goOn = r));
    const t0 = Date.now() - 60_000;
    async function* producer(): AsyncGenerator<Buffer> {
      yield mkvHeader();
      for (let i = 0; i < FRAGMENTS; i++) {
        yield mkvCluster({ timecode: t0 + i * 1000, frameBytes: 2000, seed: i + 1 });
        if (i === 0) await liveSessionsOpen; // an HLS LIVE session needs a fragment to start from
      }
      await finished;
    }
    const putting = rawPutMedia(a!.url, stream, producer(), {}, (ack: Ack) => {
      if (ack.EventType === 'PERSISTED') persisted++;
    });
    // HLS LIVE sessions on B and C, opened once the first fragment is there.
    const liveSessions = await Promise.all(
      others.map((node) =>
        eventually(async () => {
          const session = await hlsUrl(node.url, { StreamName: stream, PlaybackMode: 'LIVE', MaxMediaPlaylistFragmentResults: 100 });
          return mediaPlaylistUrl(await text(session), session);
        }, () => true, `an HLS LIVE session on ${node.nodeId}`, 20_000),
      ),
    );
    goOn();
    try {
      await until(() => persisted === FRAGMENTS, `${FRAGMENTS} fragments persisted on ${a!.nodeId}`, 30_000);
      for (const r of readers) {
        await until(() => r.collector.complete.length >= FRAGMENTS || r.ended, `${FRAGMENTS} fragments at the GetMedia NOW reader on ${r.node.nodeId}`, 30_000);
        expect(r.collector.complete.length, `GetMedia NOW on ${r.node.nodeId} ${r.ended ? 'ended' : 'open'} after ${r.collector.numbers.join(',')}`).toBe(FRAGMENTS);
      }
    } finally {
      for (const r of readers) r.res.destroy();
    }

    // ListFragments: the same fragments on every node; the live readers got exactly those, complete.
    const lists = await Promise.all(all.map(async (n) => (await listAll(n.url, stream)).map((f) => f.FragmentNumber).sort()));
    const numbers = lists[0]!;
    expect(numbers).toHaveLength(FRAGMENTS);
    for (const l of lists) expect(l).toEqual(numbers);
    for (const r of readers) {
      expect(r.collector.numbers).toEqual(numbers);
      expect(r.collector.fragments.every((f) => f.blocks === 25)).toBe(true);
    }

    // HLS LIVE on B and C: the playlist lists every fragment while the producer is still connected.
    const liveSegments: Buffer[][] = [];
    for (const [i, playlistUrl] of liveSessions.entries()) {
      const listed = await eventually(async () => parsePlaylist(await text(playlistUrl)), (p) => p.segments.length >= FRAGMENTS, `all fragments in the LIVE playlist on ${others[i]!.nodeId}`, 20_000);
      expect(listed.segments.map((x) => x.fragmentNumber)).toEqual(numbers);
      expect(listed.ended).toBe(false);
      const lines = listed.text.split('\n').filter((l) => l.startsWith('get'));
      liveSegments.push(await Promise.all(lines.map(async (l) => Buffer.from(await (await fetch(new URL(l, playlistUrl))).arrayBuffer()))));
    }

    // GetMediaForFragmentList, GetClip and HLS ON_DEMAND segments: A's bytes on B and C.
    const fromA = await fragmentList(a!.url, stream, numbers);
    const clipA = await clipOfLastHour(a!.url, stream);
    const segA = await onDemandSegments(a!.url, stream);
    expect(fromA.status).toBe(200);
    expect(fromA.body.length).toBeGreaterThan(FRAGMENTS * 2000);
    expect(clipA.status, clipA.body.toString().slice(0, 200)).toBe(200);
    expect(clipA.body.length).toBeGreaterThan(1000);
    expect(segA.length).toBeGreaterThanOrEqual(FRAGMENTS);
    for (const node of others) {
      const list = await fragmentList(node.url, stream, numbers);
      expect(list.status).toBe(200);
      expect(list.body.equals(fromA.body), `GetMediaForFragmentList on ${node.nodeId}`).toBe(true);
      const clip = await clipOfLastHour(node.url, stream);
      expect(clip.status).toBe(200);
      expect(clip.body.equals(clipA.body), `GetClip on ${node.nodeId}`).toBe(true);
      const seg = await onDemandSegments(node.url, stream);
      expect(seg.map((x) => x.toString('base64')), `HLS segments on ${node.nodeId}`).toEqual(segA.map((x) => x.toString('base64')));
    }
    // A segment is the same bytes whichever node packages it, LIVE or ON_DEMAND.
    for (const live of liveSegments) expect(live.map((x) => x.toString('base64'))).toEqual(segA.map((x) => x.toString('base64')));

    finish();
    const put = await putting;
    expect(put.status).toBe(200);
    expect(put.acks.filter((x) => x.EventType === 'ERROR')).toEqual([]);
  });
});

/**
 * Live reads on a node that did not ingest: node A ingests (IngestService, its own LiveFeed,
 * announcing on its own NATS connection); node B has a separate LiveFeed, a separate NATS
 * connection, a FragmentReader (GetMedia NOW) and LiveParts (HLS/LL-HLS blocking reloads). The two
 * share only the index and the media store (as a shared PostgreSQL index and object store would
 * be shared), so the only way B hears of A's fragments is the NATS server on 127.0.0.1:4222.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveFeedBusBridge } from '../../src/bus/feed-bridge.ts';
import { NatsLiveBus } from '../../src/bus/nats-live-bus.ts';
import { FragmentReader, type ChunkSink } from '../../src/archive/fragment-reader.ts';
import { LiveParts } from '../../src/archive/live-parts.ts';
import { SegmentBuilder } from '../../src/archive/segment-builder.ts';
import { TrackCatalog } from '../../src/archive/track-catalog.ts';
import { defaultConfig } from '../../src/config.ts';
import { IngestService } from '../../src/ingest/ingest-service.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { LiveFeed } from '../../src/store/live-feed.ts';
import { SegmentMediaStore } from '../../src/store/segment-store.ts';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { SqliteFragmentIndex } from '../../src/store/sqlite-fragments.ts';
import { SqliteStreamRepository } from '../../src/store/sqlite-streams.ts';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { NATS_URL, PrivateNatsServer, freePort, freshSubjectPrefix } from '../support/nats.ts';
import { streamRecord } from '../support/stream-record.ts';
import { until } from '../support/wait.ts';
import { embeddedOwnership } from '../support/ownership.ts';

const log = silentLogger();
const clock = { now: () => Date.now() };

function memorySink(collector: GetMediaCollector): ChunkSink & { end(): void } {
  let closed = false;
  const listeners: Array<() => void> = [];
  return {
    get closed() {
      return closed;
    },
    onClose: (l) => void listeners.push(l),
    write: async (parts) => {
      for (const p of parts) collector.push(p);
    },
    end: () => {
      closed = true;
      for (const l of listeners) l();
    },
  };
}

describe('live reads across nodes over NATS', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function harness(natsUrl: string, readerQueueBytes?: number) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-bus-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const db = openSqlite(path.join(dir, 'index.sqlite'));
    const index = new SqliteFragmentIndex(db);
    const media = new SegmentMediaStore(path.join(dir, 'media'));
    cleanup.push(() => void db.close(), () => index.close(), () => media.close());
    const stream = await new SqliteStreamRepository(db).create(streamRecord('door.cam', { dataRetentionInHours: 24 }));
    const subjectPrefix = freshSubjectPrefix();
    const node = (nodeId: string) => {
      const feed = new LiveFeed();
      const bus = new NatsLiveBus({ url: natsUrl, log, subjectPrefix, name: nodeId, retryWaitMs: 100, pingIntervalMs: 1000 });
      const bridge = new LiveFeedBusBridge({ feed, bus, nodeId, log });
      cleanup.push(() => bus.close(), () => bridge.close());
      return { feed, bus, bridge };
    };
    const a = node('node-a');
    const b = node('node-b');
    await a.bus.connected(5000);
    await b.bus.connected(5000);
    const ingestA = new IngestService({
      index, media, feed: a.feed, clock, limits: defaultConfig().ingest, log, currentStream: async () => stream, ownership: embeddedOwnership({ db }),
      onPersisted: (p) => a.bridge.announce(p.stream.name, p.fragment),
    });
    const readerB = new FragmentReader({
      index, media, feed: b.feed, clock, idleTimeoutMs: 60_000, endOfDataWaitMs: 60_000,
      producerActive: (id) => b.feed.remoteProducerActive(id),
      ...(readerQueueBytes ? { readerQueueBytes } : {}),
    });
    cleanup.push(() => readerB.close());
    // A producer on A whose clusters the test writes one by one.
    const body = new PassThrough();
    const acks: string[] = [];
    const session = await ingestA.open(stream, { timecodeType: 'ABSOLUTE', producerStartMs: undefined }, { write: (x: string) => void acks.push(x), end: () => {} } as never);
    const running = ingestA.run(stream, session, body);
    body.write(mkvHeader());
    const persisted = () => acks.filter((x) => x.includes('"PERSISTED"')).length;
    const t0 = 1_700_000_000_000;
    const pushFragment = async (i: number) => {
      body.write(mkvCluster({ timecode: t0 + i * 1000, frameBytes: 2000 }));
      await until(() => persisted() === i + 1, `fragment ${i} persisted on A`, 20_000);
    };
    const endProducer = async () => {
      body.end();
      await running;
    };
    return { index, media, stream, a, b, readerB, pushFragment, endProducer };
  }

  it('GetMedia NOW and a blocking playlist reload on node B follow fragments ingested on node A', async () => {
    const { index, media, stream, a, b, readerB, pushFragment, endProducer } = await harness(NATS_URL);
    const partsB = new LiveParts(b.feed, new SegmentBuilder({ index, media, feed: b.feed, catalog: new TrackCatalog(index) }));
    cleanup.push(() => partsB.close());

    // B: a GetMedia NOW reader (nothing stored yet: it follows from the first fragment) and a blocking reload.
    const collector = new GetMediaCollector();
    const sink = memorySink(collector);
    const reading = readerB.getMedia(stream, { type: 'NOW' }, sink);
    let reloadWoke = false;
    const reload = partsB.changed(stream.id, 120_000, true).then(() => (reloadWoke = true));
    // Subscriptions travel to the NATS server asynchronously; a round trip makes sure B's is there.
    await b.bus.check();

    // A: six one-second clusters (known size: each is a fragment as soon as it is complete).
    for (let i = 0; i < 6; i++) {
      await pushFragment(i);
      if (i === 0) await until(() => reloadWoke, 'the blocking reload on B woke', 20_000);
    }
    await endProducer();

    await until(() => collector.complete.length === 6, 'six fragments at the GetMedia reader on B', 20_000);
    sink.end();
    await reading;
    await reload;

    const stored = (await index.after(stream.id, undefined, 100)).map((r) => r.fragmentNumber);
    expect(collector.numbers).toEqual(stored);
    expect(collector.fragments.map((f) => f.blocks)).toEqual(Array(6).fill(25));
    // It crossed NATS: B's feed never held a fragment, B's bus received A's announcements.
    expect(b.feed.recent(stream.id)).toEqual([]);
    expect(b.bridge.remoteFragments).toBe(6);
    expect(b.bus.stats.received).toBe(b.bridge.remoteFragments);
    expect(a.bus.stats.published).toBe(6);
    // A ignores its own announcements (its feed delivered them with their bytes).
    expect(a.bridge.remoteFragments).toBe(0);
  });

  it('a fragment stored while NATS was down reaches the reader on B once the bus is back (resync)', async () => {
    const nats = new PrivateNatsServer(await freePort());
    cleanup.push(() => nats.stop());
    await nats.start();
    const { index, stream, a, b, readerB, pushFragment, endProducer } = await harness(nats.url);
    const collector = new GetMediaCollector();
    const sink = memorySink(collector);
    const reading = readerB.getMedia(stream, { type: 'NOW' }, sink);
    await b.bus.check();
    await pushFragment(0);
    await until(() => collector.complete.length === 1, 'first fragment at B', 20_000);

    await nats.stop();
    await until(() => a.bus.health().state !== 'connected', 'A saw NATS go', 20_000);
    await pushFragment(1); // its announcement fails: nobody on B hears of it
    expect(a.bus.stats.publishFailed).toBe(1);
    expect(collector.complete).toHaveLength(1);

    await nats.start();
    // B's bus reconnects and tells the feed to resync: the reader re-reads the index and sends fragment 1.
    await until(() => collector.complete.length === 2, 'the missed fragment at B after the resync', 30_000);
    expect(b.bus.stats.reconnects).toBe(1);
    await endProducer();
    sink.end();
    await reading;
    expect(collector.numbers).toEqual((await index.after(stream.id, undefined, 10)).map((r) => r.fragmentNumber));
  });

  it('a reader on B too slow for live is ended with WRITE_ERROR, by the same byte bound as on the ingesting node', async () => {
    const { index, stream, b, readerB, pushFragment, endProducer } = await harness(NATS_URL, 120_000);
    const collector = new GetMediaCollector();
    let release: (() => void) | undefined;
    const stalled = new Promise<void>((r) => (release = r));
    let writes = 0;
    const sink: ChunkSink = {
      closed: false,
      onClose: () => {},
      write: async (parts) => {
        for (const p of parts) collector.push(p);
        if (++writes === 1) await stalled; // the client stops reading after the first fragment
      },
    };
    const reading = readerB.getMedia(stream, { type: 'NOW' }, sink);
    await b.bus.check();
    for (let i = 0; i < 6; i++) await pushFragment(i); // ~51 KB each: the 120 KB queue overflows at the fourth queued one
    await until(() => readerB.queueStats.overflowedReaders === 1, 'B noticed the reader overflow', 20_000);
    release!();
    await reading;
    await endProducer();

    const stored = (await index.after(stream.id, undefined, 10)).map((r) => r.fragmentNumber);
    expect(collector.complete.map((f) => f.tagsBefore.AWS_KINESISVIDEO_FRAGMENT_NUMBER)).toEqual([stored[0]]);
    const last = collector.fragments.at(-1)!;
    expect(last.tagsBefore).toMatchObject({ AWS_KINESISVIDEO_ERROR_ID: '3002', AWS_KINESISVIDEO_ERROR_CODE: 'WRITE_ERROR' });
    expect(stored.indexOf(last.tagsBefore.AWS_KINESISVIDEO_FRAGMENT_NUMBER!)).toBeGreaterThan(1);
    expect(readerB.tooSlowReaders).toBe(1);
    expect(readerB.queueStats.queuedBytes).toBe(0);
  });
});

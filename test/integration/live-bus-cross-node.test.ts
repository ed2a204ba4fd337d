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
import { NATS_URL, freshSubjectPrefix } from '../support/nats.ts';
import { streamRecord } from '../support/stream-record.ts';
import { until } from '../support/wait.ts';

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

  it('GetMedia NOW and a blocking playlist reload on node B follow fragments ingested on node A', async () => {
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
      const bus = new NatsLiveBus({ url: NATS_URL, log, subjectPrefix, name: nodeId });
      const bridge = new LiveFeedBusBridge({ feed, bus, nodeId, log });
      cleanup.push(() => bus.close(), () => bridge.close());
      return { feed, bus, bridge };
    };
    const a = node('node-a');
    const b = node('node-b');
    await a.bus.connected(5000);
    await b.bus.connected(5000);

    const ingestA = new IngestService({
      index, media, feed: a.feed, clock, limits: defaultConfig().ingest, log, currentStream: async () => stream,
      onPersisted: (p) => a.bridge.announce(p.stream.name, p.fragment),
    });
    const readerB = new FragmentReader({
      index, media, feed: b.feed, clock, idleTimeoutMs: 60_000, endOfDataWaitMs: 60_000,
      producerActive: (id) => b.feed.remoteProducerActive(id),
    });
    const partsB = new LiveParts(b.feed, new SegmentBuilder({ index, media, feed: b.feed, catalog: new TrackCatalog(index) }));
    cleanup.push(() => readerB.close(), () => partsB.close());

    // B: a GetMedia NOW reader (nothing stored yet: it follows from the first fragment) and a blocking reload.
    const collector = new GetMediaCollector();
    const sink = memorySink(collector);
    const reading = readerB.getMedia(stream, { type: 'NOW' }, sink);
    let reloadWoke = false;
    const reload = partsB.changed(stream.id, 120_000, true).then(() => (reloadWoke = true));
    // Subscriptions travel to the NATS server asynchronously; a round trip makes sure B's is there.
    await b.bus.check();

    // A: a producer pushes 6 one-second clusters (known size: each is a fragment as soon as it is complete).
    const body = new PassThrough();
    const acks: string[] = [];
    const session = await ingestA.open(stream, { timecodeType: 'ABSOLUTE', producerStartMs: undefined }, { write: (x: string) => void acks.push(x), end: () => {} } as never);
    const running = ingestA.run(stream, session, body);
    const persisted = () => acks.filter((x) => x.includes('"PERSISTED"')).length;
    body.write(mkvHeader());
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 6; i++) {
      body.write(mkvCluster({ timecode: t0 + i * 1000, frameBytes: 2000 }));
      await until(() => persisted() === i + 1, `fragment ${i} persisted on A`, 20_000);
      if (i === 0) await until(() => reloadWoke, 'the blocking reload on B woke', 20_000);
    }
    body.end();
    await running;
    await until(() => persisted() === 6, 'all six persisted', 20_000);

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
});

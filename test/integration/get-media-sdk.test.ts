import { GetMediaCommand, KinesisVideoMediaClient, type StartSelector } from '@aws-sdk/client-kinesis-video-media';
import {
  GetMediaForFragmentListCommand,
  KinesisVideoArchivedMediaClient,
  ListFragmentsCommand,
  paginateListFragments,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { CreateStreamCommand, GetDataEndpointCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { mkvCluster, mkvClusters, mkvHeader } from '../support/synthetic-mkv.ts';
import { collect } from '../support/get-media-reader.ts';
import { until } from '../support/wait.ts';

const T0 = 1_700_000_000_000;
let srv: TestServer;
let kv: KinesisVideoClient;
let media: KinesisVideoMediaClient;
let archive: KinesisVideoArchivedMediaClient;
let numbers: string[] = [];

async function getMedia(StreamName: string, StartSelector: StartSelector, n: number, timeoutMs = 10_000) {
  const out = await media.send(new GetMediaCommand({ StreamName, StartSelector }));
  expect(out.ContentType).toBe('video/webm');
  return collect(out.Payload as never, (c) => c.complete.length >= n, timeoutMs);
}

beforeAll(async () => {
  srv = await startTestServer();
  kv = new KinesisVideoClient(sdkConfig(srv.url));
  await kv.send(new CreateStreamCommand({ StreamName: 'cam', DataRetentionInHours: 24 }));
  const ep = async (APIName: 'GET_MEDIA' | 'LIST_FRAGMENTS') => (await kv.send(new GetDataEndpointCommand({ StreamName: 'cam', APIName }))).DataEndpoint!;
  media = new KinesisVideoMediaClient(sdkConfig(await ep('GET_MEDIA')));
  archive = new KinesisVideoArchivedMediaClient(sdkConfig(await ep('LIST_FRAGMENTS')));
  const res = await rawPutMedia(srv.url, 'cam', [Buffer.concat([mkvHeader(), ...mkvClusters(6, T0)])]);
  numbers = res.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
  expect(numbers).toHaveLength(6);
});
// A reader the client dropped frees its slot (3 per stream) once the server sees the close; on a
// loaded machine that can trail the next test's request.
afterEach(async () => {
  await until(() => srv.server.getMediaReaders?.() === 0, 'GetMedia readers of the previous test gone', 10_000);
});
afterAll(async () => {
  await srv.close();
});

describe('GetMedia through the AWS SDK', () => {
  it('EARLIEST returns every fragment as a self-contained MKV chunk with the KVS tags', async () => {
    const c = await getMedia('cam', { StartSelectorType: 'EARLIEST' }, 6);
    expect(c.numbers).toEqual(numbers);
    c.fragments.forEach((f, i) => {
      expect(f.ebmlHeaders).toBe(i + 1); // a new EBML header + Segment per fragment
      expect(f.blocks).toBe(25);
      expect(f.clusterTimecode).toBe(T0 + i * 1000);
      expect(f.tagsBefore.AWS_KINESISVIDEO_PRODUCER_TIMESTAMP).toBe(((T0 + i * 1000) / 1000).toFixed(3));
      expect(f.tagsBefore.AWS_KINESISVIDEO_SERVER_TIMESTAMP).toMatch(/^\d{10}\.\d{3}$/);
      expect(f.tagsAfter.AWS_KINESISVIDEO_CONTINUATION_TOKEN).toBe(numbers[i]);
      expect(Number(f.tagsAfter.AWS_KINESISVIDEO_MILLIS_BEHIND_NOW)).toBeGreaterThanOrEqual(0);
    });
  });

  it('FRAGMENT_NUMBER starts after the given fragment; CONTINUATION_TOKEN resumes with no gap or duplicate', async () => {
    const a = await getMedia('cam', { StartSelectorType: 'FRAGMENT_NUMBER', AfterFragmentNumber: numbers[1] }, 2);
    expect(a.numbers.slice(0, 2)).toEqual(numbers.slice(2, 4));
    const token = a.complete[1]!.tagsAfter.AWS_KINESISVIDEO_CONTINUATION_TOKEN!;
    const b = await getMedia('cam', { StartSelectorType: 'CONTINUATION_TOKEN', ContinuationToken: token }, 2);
    expect([...a.numbers.slice(0, 2), ...b.numbers.slice(0, 2)]).toEqual(numbers.slice(2, 6));
  });

  it('PRODUCER_TIMESTAMP and SERVER_TIMESTAMP start with the fragment containing the instant', async () => {
    const p = await getMedia('cam', { StartSelectorType: 'PRODUCER_TIMESTAMP', StartTimestamp: new Date(T0 + 2500) }, 1);
    expect(p.numbers[0]).toBe(numbers[2]);
    const listed = await archive.send(new ListFragmentsCommand({ StreamName: 'cam', FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(4e12) } } }));
    const fourth = listed.Fragments!.find((f) => f.FragmentNumber === numbers[3])!;
    const s = await getMedia('cam', { StartSelectorType: 'SERVER_TIMESTAMP', StartTimestamp: fourth.ServerTimestamp }, 1);
    expect(s.numbers[0]).toBe(numbers[3]);
  });

  it('NOW starts with the latest fragment and then follows the live stream', async () => {
    const out = await media.send(new GetMediaCommand({ StreamName: 'cam', StartSelector: { StartSelectorType: 'NOW' } }));
    const reading = collect(out.Payload as never, (c) => c.complete.length >= 3);
    await new Promise((r) => setTimeout(r, 200));
    const more = await rawPutMedia(srv.url, 'cam', [Buffer.concat([mkvHeader(), mkvCluster({ timecode: T0 + 6000 }), mkvCluster({ timecode: T0 + 7000 })])]);
    const added = more.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
    const c = await reading;
    expect(c.numbers.slice(0, 3)).toEqual([numbers[5], ...added]);
    numbers.push(...added);
  });

  it('refuses an unknown stream (404), a bad selector, and a 4th concurrent reader', async () => {
    await expect(media.send(new GetMediaCommand({ StreamName: 'nope', StartSelector: { StartSelectorType: 'NOW' } }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(media.send(new GetMediaCommand({ StreamName: 'cam', StartSelector: { StartSelectorType: 'SOMETIME' as never } }))).rejects.toMatchObject({
      name: 'InvalidArgumentException',
    });
    const open = await Promise.all([0, 1, 2].map(() => media.send(new GetMediaCommand({ StreamName: 'cam', StartSelector: { StartSelectorType: 'NOW' } }))));
    await expect(media.send(new GetMediaCommand({ StreamName: 'cam', StartSelector: { StartSelectorType: 'NOW' } }))).rejects.toMatchObject({
      name: 'ConnectionLimitExceededException',
    });
    for (const o of open) (o.Payload as unknown as { destroy(): void }).destroy();
  });
});

describe('ListFragments and GetMediaForFragmentList through the AWS SDK', () => {
  it('paginates with MaxResults and NextToken and lists inclusive ranges for both timestamp types', async () => {
    const pages: string[][] = [];
    for await (const page of paginateListFragments({ client: archive, pageSize: 3 }, {
      StreamName: 'cam',
      FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(T0), EndTimestamp: new Date(T0 + 60_000) } },
    })) {
      pages.push(page.Fragments!.map((f) => f.FragmentNumber!));
    }
    expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
    expect(pages.flat().sort()).toEqual([...numbers].sort());
    const inclusive = await archive.send(new ListFragmentsCommand({
      StreamName: 'cam',
      FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(T0 + 1000), EndTimestamp: new Date(T0 + 3000) } },
    }));
    const frags = inclusive.Fragments!.sort((a, b) => a.FragmentNumber!.localeCompare(b.FragmentNumber!));
    expect(frags.map((f) => f.FragmentNumber)).toEqual(numbers.slice(1, 4));
    expect(frags[0]!.ProducerTimestamp!.getTime()).toBe(T0 + 1000);
    expect(frags[0]!.FragmentLengthInMilliseconds).toBe(1000);
    expect(frags[0]!.FragmentSizeInBytes).toBeGreaterThan(25_000);
    const server = await archive.send(new ListFragmentsCommand({
      StreamName: 'cam',
      FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: frags[0]!.ServerTimestamp, EndTimestamp: frags[0]!.ServerTimestamp } },
    }));
    expect(server.Fragments!.map((f) => f.FragmentNumber)).toContain(numbers[1]);
  });

  it('lists every fragment when no FragmentSelector is given', async () => {
    const all = await archive.send(new ListFragmentsCommand({ StreamName: 'cam' }));
    expect(all.Fragments!.map((f) => f.FragmentNumber).sort()).toEqual([...numbers].sort());
  });

  it('rejects bad ranges, page sizes and tokens', async () => {
    const sel = { FragmentSelectorType: 'SERVER_TIMESTAMP' as const, TimestampRange: { StartTimestamp: new Date(5000), EndTimestamp: new Date(1000) } };
    await expect(archive.send(new ListFragmentsCommand({ StreamName: 'cam', FragmentSelector: sel }))).rejects.toMatchObject({ name: 'InvalidArgumentException' });
    await expect(archive.send(new ListFragmentsCommand({ StreamName: 'cam', MaxResults: 0, FragmentSelector: { ...sel, TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(1) } } }))).rejects.toMatchObject({ name: 'InvalidArgumentException' });
    await expect(archive.send(new ListFragmentsCommand({ StreamName: 'cam', NextToken: 'bm90LWEtdG9rZW4=' }))).rejects.toMatchObject({ name: 'InvalidArgumentException' });
  });

  it('GetMediaForFragmentList returns the requested fragments with KVS tags but no continuation tags', async () => {
    const out = await archive.send(new GetMediaForFragmentListCommand({ StreamName: 'cam', Fragments: [numbers[1]!, numbers[4]!] }));
    expect(out.ContentType).toBe('video/webm');
    const c = await collect(out.Payload as never, () => false);
    expect(c.numbers).toEqual([numbers[1], numbers[4]]);
    for (const f of c.fragments) {
      expect(f.blocks).toBe(25);
      expect(f.tagsAfter).toEqual({});
    }
    await expect(archive.send(new GetMediaForFragmentListCommand({ StreamName: 'cam', Fragments: ['91343852333181432392682062607743920146159169392'] }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

describe('retention 0', () => {
  it('sends no PERSISTED, serves GetMedia from the in-memory buffer, and archives nothing', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'live-only', DataRetentionInHours: 0 }));
    const res = await rawPutMedia(srv.url, 'live-only', [Buffer.concat([mkvHeader(), ...mkvClusters(3, T0)])]);
    expect(res.acks.map((a) => a.EventType)).not.toContain('PERSISTED');
    expect(res.acks.filter((a) => a.EventType === 'RECEIVED')).toHaveLength(3);
    const c = await getMedia('live-only', { StartSelectorType: 'EARLIEST' }, 3);
    expect(c.numbers).toEqual(res.acks.filter((a) => a.EventType === 'RECEIVED').map((a) => a.FragmentNumber));
    const listed = await archive.send(new ListFragmentsCommand({ StreamName: 'live-only', FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(4e12) } } }));
    expect(listed.Fragments).toEqual([]);
  });
});

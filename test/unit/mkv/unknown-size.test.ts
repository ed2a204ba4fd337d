import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { MkvStreamParser } from '../../../src/mkv/stream-parser.ts';
import { KVS_TAG } from '../../../src/mkv/kvs-tags.ts';
import { MKV_ID } from '../../../src/mkv/ids.ts';
import { element, ebmlHeader, segmentElement, stringElement, tagsElement, uintElement } from '../../../src/mkv/writer.ts';
import { byteFeed, headerElements, producerStyleStream, types, videoCluster, wholeFeed } from './helpers.ts';

describe('unknown-size Segment and Clusters (KVS producer layout)', () => {
  it('ends each cluster at the following Tags or Cluster and the segment at end()', () => {
    const events = wholeFeed(producerStyleStream());
    expect(types(events)).toEqual([
      'ebml-header', 'segment-start', 'info', 'tracks',
      'cluster-start', 'cluster-timecode', 'block', 'block', 'block', 'block', 'block', 'cluster-end',
      'tags',
      'cluster-start', 'cluster-timecode', 'block', 'block', 'block', 'block', 'cluster-end',
      'tags',
      'cluster-start', 'cluster-timecode', 'block', 'block', 'block', 'cluster-end',
      'segment-end',
    ]);
    expect(events[1]).toMatchObject({ type: 'segment-start', unknownSize: true });
    expect(events[1]).not.toHaveProperty('declaredSize');
    expect(events[4]).toMatchObject({ type: 'cluster-start', unknownSize: true, headerLength: 12 });
  });

  it('parses Tags that follow a cluster into flat SimpleTags', () => {
    const tags = wholeFeed(producerStyleStream()).flatMap((e) => (e.type === 'tags' ? [e.tags] : []));
    expect(tags).toEqual([[{ name: KVS_TAG.END_OF_FRAGMENT, value: '' }], [{ name: 'user', value: 'x' }]]);
  });

  it('flattens nested SimpleTags, ignores Targets and keeps TagBinary', () => {
    const nested = element(MKV_ID.Tags, [
      element(MKV_ID.Tag, [
        element(MKV_ID.Targets, [uintElement(0x68ca, 50)]),
        element(MKV_ID.SimpleTag, [
          stringElement(MKV_ID.TagName, 'outer'),
          stringElement(MKV_ID.TagString, 'o'),
          element(MKV_ID.SimpleTag, [stringElement(MKV_ID.TagName, 'inner'), element(MKV_ID.TagBinary, Buffer.from([1, 2]))]),
        ]),
      ]),
      element(MKV_ID.Tag, [element(MKV_ID.SimpleTag, [stringElement(MKV_ID.TagName, 'second'), stringElement(MKV_ID.TagString, '2')])]),
    ]);
    const events = wholeFeed(Buffer.concat([ebmlHeader(), segmentElement({ unknownSize: true, children: [nested] })]));
    expect(events[2]).toMatchObject({
      type: 'tags',
      tags: [{ name: 'outer', value: 'o' }, { name: 'inner', value: '', binary: Buffer.from([1, 2]) }, { name: 'second', value: '2' }],
    });
  });

  it('a second EBML header mid-stream closes the cluster and segment and starts a new header', () => {
    const first = Buffer.concat([ebmlHeader(), segmentElement({ unknownSize: true, children: [...headerElements(), videoCluster(0, 2, true)] })]);
    const second = Buffer.concat([ebmlHeader('matroska', 2), segmentElement({ unknownSize: true, children: [videoCluster(80, 1, true)] })]);
    const events = wholeFeed(Buffer.concat([first, second]));
    expect(types(events)).toEqual([
      'ebml-header', 'segment-start', 'info', 'tracks', 'cluster-start', 'cluster-timecode', 'block', 'block',
      'cluster-end', 'segment-end', 'ebml-header', 'segment-start', 'cluster-start', 'cluster-timecode', 'block', 'cluster-end', 'segment-end',
    ]);
    expect(events[10]).toMatchObject({ type: 'ebml-header', docTypeVersion: 2 });
  });

  it('a new EBML header after a known-size segment is legal too', () => {
    const known = Buffer.concat([ebmlHeader(), segmentElement({ children: [videoCluster(0, 1)] })]);
    expect(types(wholeFeed(Buffer.concat([known, known])))).toEqual([
      ...['ebml-header', 'segment-start', 'cluster-start', 'cluster-timecode', 'block', 'cluster-end', 'segment-end'],
      ...['ebml-header', 'segment-start', 'cluster-start', 'cluster-timecode', 'block', 'cluster-end', 'segment-end'],
    ]);
  });

  it('parses concatenated GetMedia chunks (KVS tags around each cluster, kvs-api.md §4.3)', () => {
    const chunk = (n: number) =>
      Buffer.concat([
        ebmlHeader(),
        segmentElement({
          unknownSize: true,
          children: [
            ...headerElements(),
            tagsElement([
              { name: KVS_TAG.FRAGMENT_NUMBER, value: `9134385233318143239268206260774392014615916939${n}` },
              { name: KVS_TAG.SERVER_TIMESTAMP, value: '1511852109.126' },
              { name: KVS_TAG.PRODUCER_TIMESTAMP, value: '1511852108.513' },
            ]),
            videoCluster(n * 1000, 3, n % 2 === 0),
            tagsElement([
              { name: KVS_TAG.MILLIS_BEHIND_NOW, value: '15858' },
              { name: KVS_TAG.CONTINUATION_TOKEN, value: `9134385233318143239268206260774392014615916939${n}` },
            ]),
          ],
        }),
      ]);
    const input = Buffer.concat([chunk(1), chunk(2)]);
    const events = byteFeed(input);
    expect(types(events)).toEqual(
      [1, 2].flatMap(() => [
        'ebml-header', 'segment-start', 'info', 'tracks', 'tags',
        'cluster-start', 'cluster-timecode', 'block', 'block', 'block', 'cluster-end', 'tags', 'segment-end',
      ]),
    );
    const tagEvents = events.flatMap((e) => (e.type === 'tags' ? [e.tags.map((t) => t.name)] : []));
    expect(tagEvents[1]).toEqual([KVS_TAG.MILLIS_BEHIND_NOW, KVS_TAG.CONTINUATION_TOKEN]);
  });

  it('an unknown-size cluster inside a known-size segment ends with the segment', () => {
    const input = Buffer.concat([ebmlHeader(), segmentElement({ children: [videoCluster(0, 2, true)] })]);
    const parser = new MkvStreamParser();
    expect(types(parser.push(input)).slice(-3)).toEqual(['block', 'cluster-end', 'segment-end']);
    expect(parser.end()).toEqual([]);
  });
});

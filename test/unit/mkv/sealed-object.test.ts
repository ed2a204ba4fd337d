import { describe, expect, it } from 'vitest';
import { MKV_ID } from '../../../src/mkv/ids.ts';
import { MkvStreamParser } from '../../../src/mkv/stream-parser.ts';
import { clusterElement, ebmlHeader, infoElement, simpleBlock, uintElement, unknownSizeHeader } from '../../../src/mkv/writer.ts';
import {
  SEALED_FOOTER_BYTES,
  buildSealedObject,
  parseSealedFooter,
  parseSealedTrailer,
  sealedObjectKey,
  type SealedFragmentInput,
} from '../../../src/mkv/sealed-object.ts';

const header = Buffer.concat([ebmlHeader(), unknownSizeHeader(MKV_ID.Segment), infoElement({ timecodeScale: 1_000_000 })]);
const fragmentNumber = (n: number): string => String(n).padStart(47, '9');

function fragment(n: number, tags: Record<string, string> = {}): SealedFragmentInput {
  const cluster = clusterElement({
    timecode: n * 1000,
    children: [uintElement(MKV_ID.Timecode, n * 1000), simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frame: Buffer.alloc(40 + n, n) })],
  });
  // Stored fragments come as several chunks; the format must keep them back to back.
  return {
    fragmentNumber: fragmentNumber(n),
    producerTimestampMs: 1_700_000_000_000 + n * 1000,
    serverTimestampMs: 1_700_000_000_500 + n * 1000,
    durationMs: 1000,
    sizeBytes: cluster.length,
    flags: n % 2,
    tags,
    bytes: [cluster.subarray(0, 5), cluster.subarray(5)],
  };
}

describe('sealed object format', () => {
  const inputs = [fragment(1, { camera: 'front door' }), fragment(2), fragment(3, { 'x-ünï': 'ok' })];
  const built = buildSealedObject({ streamName: 'cam-1', streamArn: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/cam-1/1', epoch: 7, retentionHours: 48, header, fragments: inputs });
  const object = Buffer.concat(built.chunks);

  it('starts with the header and keeps each fragment at the offset its index entry gives', () => {
    expect(object.length).toBe(built.size);
    expect(object.subarray(0, header.length)).toEqual(header);
    inputs.forEach((input, i) => {
      const entry = built.index.fragments[i]!;
      expect(object.subarray(entry.offset, entry.offset + entry.length)).toEqual(Buffer.concat(input.bytes));
    });
  });

  it('is found again from the footer and the trailer alone (what reindex reads)', () => {
    const tail = object.subarray(object.length - SEALED_FOOTER_BYTES);
    const at = parseSealedFooter(tail, object.length);
    const index = parseSealedTrailer(object.subarray(at.offset, at.offset + at.length));
    expect(index).toEqual(built.index);
    expect(index).toMatchObject({ streamName: 'cam-1', epoch: 7, retentionHours: 48, headerLength: header.length });
    expect(index.fragments.map((f) => [f.fragmentNumber, f.producerTimestampMs, f.serverTimestampMs, f.durationMs, f.flags, f.tags])).toEqual([
      [fragmentNumber(1), 1_700_000_001_000, 1_700_000_001_500, 1000, 1, { camera: 'front door' }],
      [fragmentNumber(2), 1_700_000_002_000, 1_700_000_002_500, 1000, 0, {}],
      [fragmentNumber(3), 1_700_000_003_000, 1_700_000_003_500, 1000, 1, { 'x-ünï': 'ok' }],
    ]);
  });

  it('is a valid MKV stream: the parser sees the header, three clusters, the Tags and the Void footer', () => {
    const events = new MkvStreamParser().push(object);
    const clusters = events.filter((e) => e.type === 'cluster-start');
    expect(clusters).toHaveLength(3);
    expect(events.filter((e) => e.type === 'block')).toHaveLength(3);
    const tags = events.flatMap((e) => (e.type === 'tags' ? e.tags : []));
    expect(tags.map((t) => t.name)).toContain('KESTREL_SEALED_INDEX');
  });

  it('refuses objects that are not sealed objects or whose footer lies about the size', () => {
    const tail = Buffer.from(object.subarray(object.length - SEALED_FOOTER_BYTES));
    expect(() => parseSealedFooter(tail, object.length + 1)).toThrow(/size/);
    expect(() => parseSealedFooter(Buffer.alloc(SEALED_FOOTER_BYTES), object.length)).toThrow(/KSTRLIDX/);
    const badVersion = Buffer.from(tail);
    badVersion[10] = 99;
    expect(() => parseSealedFooter(badVersion, object.length)).toThrow(/version 99/);
    expect(() => parseSealedTrailer(header)).toThrow(/Tags/);
  });

  it('names objects by stream, zero-padded epoch and fragment range', () => {
    expect(sealedObjectKey('site/a', 'cam-1', 7, fragmentNumber(1), fragmentNumber(3))).toBe(`site/a/streams/cam-1/0000000007/${fragmentNumber(1)}-${fragmentNumber(3)}.mkv`);
    expect(sealedObjectKey('', 'cam-1', 0, fragmentNumber(1), fragmentNumber(1))).toMatch(/^streams\/cam-1\/0000000000\//);
  });
});

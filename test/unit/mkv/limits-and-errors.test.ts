import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { encodeElementId, encodeSize, encodeUnknownSize } from '../../../src/mkv/ebml.ts';
import { MkvError } from '../../../src/mkv/errors.ts';
import { MKV_ID } from '../../../src/mkv/ids.ts';
import { MkvStreamParser } from '../../../src/mkv/stream-parser.ts';
import { clusterElement, ebmlHeader, element, segmentElement, simpleBlock, unknownSizeHeader } from '../../../src/mkv/writer.ts';
import type { MkvEvent } from '../../../src/mkv/types.ts';
import { frameBytes, headerElements, types, videoCluster, wholeFeed } from './helpers.ts';

const GB = 1024 ** 3;
const header = (id: number, size: number) => Buffer.concat([encodeElementId(id), encodeSize(size)]);
const liveStart = () => Buffer.concat([ebmlHeader(), unknownSizeHeader(MKV_ID.Segment), ...headerElements()]);

function catchMkv(fn: () => unknown): MkvError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MkvError);
    return err as MkvError;
  }
  throw new Error('expected an MkvError');
}

describe('limits', () => {
  it('a cluster claiming 4 GB is too large at once, before any payload is buffered', () => {
    const parser = new MkvStreamParser();
    parser.push(liveStart());
    const err = catchMkv(() => parser.push(header(MKV_ID.Cluster, 4 * GB)));
    expect(err.kind).toBe('too-large');
    expect(err.message).toMatch(/Cluster at offset \d+ declares 4294967296 bytes/);
    expect(parser.bufferedBytes).toBeLessThan(16);
  });

  it('a SimpleBlock claiming 3 GB is too large at once', () => {
    const parser = new MkvStreamParser();
    parser.push(Buffer.concat([liveStart(), unknownSizeHeader(MKV_ID.Cluster)]));
    const err = catchMkv(() => parser.push(Buffer.concat([header(MKV_ID.SimpleBlock, 3 * GB), Buffer.from([0x81, 0, 0, 0x80])])));
    expect(err.kind).toBe('too-large');
    expect(parser.bufferedBytes).toBeLessThan(16);
  });

  it('custom limits apply to blocks and to known-size clusters', () => {
    const block = simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frame: frameBytes(1, 2000) });
    const input = Buffer.concat([ebmlHeader(), segmentElement({ children: [clusterElement({ timecode: 0, children: [block] })] })]);
    expect(catchMkv(() => wholeFeed(input, { maxBlockSize: 1000 })).kind).toBe('too-large');
    expect(catchMkv(() => wholeFeed(input, { maxClusterSize: 1000 })).kind).toBe('too-large');
    expect(() => wholeFeed(input, { maxBlockSize: 2004, maxClusterSize: 2020 })).not.toThrow();
    expect(() => new MkvStreamParser({ maxBlockSize: -1 })).toThrow(RangeError);
  });

  it('a big Attachments element is skipped as it streams by, with memory staying bounded', () => {
    const parser = new MkvStreamParser();
    const events: MkvEvent[] = [...parser.push(liveStart())];
    const size = 20 * 1024 * 1024;
    events.push(...parser.push(header(MKV_ID.Attachments, size)));
    const piece = Buffer.alloc(1024 * 1024, 0xab);
    let peak = 0;
    for (let sent = 0; sent < size; sent += piece.length) {
      events.push(...parser.push(piece));
      peak = Math.max(peak, parser.bufferedBytes);
    }
    events.push(...parser.push(videoCluster(0, 2, true)), ...parser.end());
    expect(peak).toBe(0);
    expect(events.find((e) => e.type === 'skipped')).toEqual({ type: 'skipped', id: MKV_ID.Attachments, size });
    expect(types(events).slice(-6)).toEqual(['cluster-start', 'cluster-timecode', 'block', 'block', 'cluster-end', 'segment-end']);
  });

  it('a 1 MiB block fed in small chunks is assembled, then released', () => {
    const parser = new MkvStreamParser();
    parser.push(Buffer.concat([liveStart(), unknownSizeHeader(MKV_ID.Cluster)]));
    const block = simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frame: frameBytes(7, 1024 * 1024) });
    const events: MkvEvent[] = [];
    let peak = 0;
    for (let i = 0; i < block.length; i += 1000) {
      events.push(...parser.push(block.subarray(i, i + 1000)));
      peak = Math.max(peak, parser.bufferedBytes);
    }
    expect(peak).toBeLessThanOrEqual(block.length);
    expect(parser.bufferedBytes).toBe(0);
    expect(events).toHaveLength(1);
    expect(events[0]?.type === 'block' && events[0].raw.equals(block)).toBe(true);
  });
});

describe('invalid input', () => {
  it('garbage is rejected on its first byte', () => {
    const parser = new MkvStreamParser();
    const err = catchMkv(() => parser.push(Buffer.from('h')));
    expect(err.kind).toBe('invalid');
    expect(err.message).toMatch(/does not start with an EBML header \(offset 0\)/);
    expect(catchMkv(() => wholeFeed(Buffer.from('hello world, not matroska'))).kind).toBe('invalid');
    expect(catchMkv(() => wholeFeed(Buffer.concat([segmentElement({ children: [] })]))).kind).toBe('invalid');
  });

  it('the 0x00 vint byte is invalid, reported with its offset', () => {
    const input = Buffer.concat([liveStart(), Buffer.from([0x00])]);
    const err = catchMkv(() => wholeFeed(input));
    expect(err.kind).toBe('invalid');
    expect(err.offset).toBe(input.length - 1);
    expect(err.message).toContain(`offset ${input.length - 1}`);
  });

  it('the parser is dead after an error and keeps the events decoded before it', () => {
    const parser = new MkvStreamParser();
    const err = catchMkv(() => parser.push(Buffer.concat([liveStart(), videoCluster(0, 1, true), Buffer.from([0x00])])));
    expect(types(err.eventsBeforeError)).toContain('block');
    expect(() => parser.push(videoCluster(40, 1, true))).toThrow(err);
    expect(() => parser.end()).toThrow(err);
  });

  it('a known-size child overflowing its parent is invalid', () => {
    const block = simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frame: frameBytes(1, 100) });
    const cluster = Buffer.concat([header(MKV_ID.Cluster, 50), block]);
    const err = catchMkv(() => wholeFeed(Buffer.concat([liveStart(), cluster])));
    expect(err.kind).toBe('invalid');
    expect(err.message).toMatch(/SimpleBlock \(0xA3\) at offset \d+ \(\d+ bytes\) overflows its parent/);
    const inSegment = Buffer.concat([ebmlHeader(), header(MKV_ID.Segment, 10), videoCluster(0, 1)]);
    expect(catchMkv(() => wholeFeed(inSegment)).message).toMatch(/Cluster .* overflows/);
  });

  it('unknown size is only allowed for Segment and Cluster', () => {
    const input = Buffer.concat([liveStart(), encodeElementId(MKV_ID.Tags), encodeUnknownSize()]);
    expect(catchMkv(() => wholeFeed(input)).message).toMatch(/Tags \(0x1254C367\) with unknown size/);
  });

  it('an EBML header inside a known-size segment is invalid', () => {
    const input = Buffer.concat([ebmlHeader(), segmentElement({ children: [ebmlHeader()] })]);
    expect(catchMkv(() => wholeFeed(input)).message).toMatch(/EBML header inside a known-size Segment/);
  });

  it('a cluster timecode beyond Number.MAX_SAFE_INTEGER is invalid', () => {
    const big = element(MKV_ID.Timecode, Buffer.from('0020000000000000', 'hex'));
    const input = Buffer.concat([liveStart(), unknownSizeHeader(MKV_ID.Cluster), big]);
    expect(catchMkv(() => wholeFeed(input)).message).toMatch(/Timecode 9007199254740992 .* beyond Number.MAX_SAFE_INTEGER/);
  });
});

describe('end()', () => {
  it('throws for a cluster cut in the middle of a block', () => {
    const stream = Buffer.concat([liveStart(), videoCluster(0, 3, true)]);
    const err = catchMkv(() => wholeFeed(stream.subarray(0, stream.length - 20)));
    expect(err.kind).toBe('invalid');
    expect(err.message).toMatch(/^truncated SimpleBlock/);
  });

  it('throws for a known-size cluster that ends early at an element boundary', () => {
    const cluster = videoCluster(0, 3);
    const lastBlock = simpleBlock({ track: 1, relativeTimecode: 80, keyframe: false, frame: frameBytes(2, 76) });
    const cut = cluster.subarray(0, cluster.length - lastBlock.length);
    expect(catchMkv(() => wholeFeed(Buffer.concat([liveStart(), cut]))).message).toMatch(/^truncated Cluster at offset \d+: \d+ bytes missing/);
  });

  it('throws for a partial element header and for a cut skipped element', () => {
    expect(catchMkv(() => wholeFeed(Buffer.concat([liveStart(), Buffer.from([0x1f, 0x43])]))).message).toMatch(/truncated element header/);
    const attach = Buffer.concat([header(MKV_ID.Attachments, 5_000_000), Buffer.alloc(100)]);
    expect(catchMkv(() => wholeFeed(Buffer.concat([liveStart(), attach]))).message).toMatch(/truncated Attachments/);
  });

  it('closes open unknown-size elements on a clean boundary; empty input gives no events', () => {
    const parser = new MkvStreamParser();
    parser.push(Buffer.concat([liveStart(), videoCluster(0, 1, true)]));
    expect(parser.end()).toEqual([{ type: 'cluster-end' }, { type: 'segment-end' }]);
    expect(() => parser.push(Buffer.from([1]))).toThrow(/after end/);
    expect(new MkvStreamParser().end()).toEqual([]);
  });
});

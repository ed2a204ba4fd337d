import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { MkvStreamParser } from '../../../src/mkv/stream-parser.ts';
import { MKV_ID } from '../../../src/mkv/ids.ts';
import { blockGroup, clusterElement, ebmlHeader, element, segmentElement, simpleBlock, tagsElement } from '../../../src/mkv/writer.ts';
import {
  byteFeed,
  frameBytes,
  headerElements,
  knownSizeStream,
  normalize,
  parseAll,
  producerStyleStream,
  seededRandom,
  wholeFeed,
} from './helpers.ts';

/** Lacing, BlockGroups, a skipped element and two header restarts: every code path in one stream. */
function mixedStream(): Buffer {
  const cluster = clusterElement({
    timecode: 90_000,
    unknownSize: true,
    children: [
      element(MKV_ID.Void, Buffer.alloc(3)),
      simpleBlock({ track: 2, relativeTimecode: -5, keyframe: true, frames: [frameBytes(1, 300), frameBytes(2, 10)], lacing: 'xiph' }),
      simpleBlock({ track: 2, relativeTimecode: 20, keyframe: true, frames: [frameBytes(3, 8), frameBytes(4, 8)], lacing: 'fixed' }),
      simpleBlock({ track: 2, relativeTimecode: 40, keyframe: true, frames: [frameBytes(5, 200), frameBytes(6, 3), frameBytes(7, 90)] }),
      blockGroup({ track: 1, relativeTimecode: 60, frame: frameBytes(8, 1000), durationTicks: 40, referenceBlocks: [-60] }),
    ],
  });
  const attachments = element(MKV_ID.Attachments, frameBytes(9, 3000));
  const fragment = (tc: number) =>
    Buffer.concat([
      ebmlHeader(),
      segmentElement({
        unknownSize: true,
        children: [...headerElements(), tagsElement([{ name: 'AWS_KINESISVIDEO_FRAGMENT_NUMBER', value: String(tc) }]), cluster, attachments],
      }),
    ]);
  return Buffer.concat([fragment(1), knownSizeStream(), fragment(2)]);
}

const STREAMS: Record<string, () => Buffer> = {
  'producer style (unknown sizes)': producerStyleStream,
  'ffmpeg style (known sizes)': knownSizeStream,
  'mixed (lacing, groups, skipped, header restarts)': mixedStream,
};
const LIMITS = { maxHeaderElementSize: 2048 };

describe('chunk boundaries do not change the events', () => {
  for (const [name, build] of Object.entries(STREAMS)) {
    it(`${name}: 1-byte feed, whole feed and seeded random splits agree`, () => {
      const input = build();
      const expected = normalize(wholeFeed(input, LIMITS));
      expect(normalize(byteFeed(input, LIMITS))).toEqual(expected);
      for (const seed of [1, 2, 3, 42, 1234]) {
        const rnd = seededRandom(seed);
        // Mostly tiny chunks (header splits), sometimes large ones (zero-copy path).
        const events = parseAll(input, () => (rnd() < 0.8 ? 1 + Math.floor(rnd() * 16) : 1 + Math.floor(rnd() * 2000)), LIMITS);
        expect(normalize(events)).toEqual(expected);
      }
    });
  }

  it('the mixed stream decodes to the expected sequence', () => {
    const events = wholeFeed(mixedStream(), LIMITS);
    const firstFragment = events.slice(0, 16).map((e) => (e.type === 'block' ? `block:${e.block.lacing}` : e.type));
    expect(firstFragment).toEqual([
      'ebml-header', 'segment-start', 'info', 'tracks', 'tags',
      'cluster-start', 'cluster-timecode', 'cluster-child',
      'block:xiph', 'block:fixed', 'block:ebml', 'block:none',
      'cluster-end', 'skipped', 'segment-end', 'ebml-header',
    ]);
    expect(events.filter((e) => e.type === 'ebml-header')).toHaveLength(3);
    expect(events.at(-1)?.type).toBe('segment-end');
  });

  it('hands out views of the input chunk when an element fits in it (zero copy)', () => {
    const input = knownSizeStream();
    const events = new MkvStreamParser().push(input);
    for (const e of events) if ('raw' in e) expect(e.raw.buffer).toBe(input.buffer);
  });

  it('buffers at most about one element while feeding byte by byte', () => {
    const input = producerStyleStream();
    const parser = new MkvStreamParser();
    let peak = 0;
    for (let i = 0; i < input.length; i++) {
      parser.push(input.subarray(i, i + 1));
      peak = Math.max(peak, parser.bufferedBytes);
    }
    parser.end();
    expect(parser.bufferedBytes).toBe(0);
    expect(peak).toBeLessThan(400); // the largest element (Tracks) is ~130 bytes; blocks < 120
  });
});

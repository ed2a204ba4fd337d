import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import type { MkvError } from '../../../src/mkv/errors.ts';
import { MKV_ID } from '../../../src/mkv/ids.ts';
import { encodeVint } from '../../../src/mkv/ebml.ts';
import { blockGroup, clusterElement, ebmlHeader, element, segmentElement, simpleBlock } from '../../../src/mkv/writer.ts';
import type { BlockInfo } from '../../../src/mkv/types.ts';
import { byteFeed, frameBytes, wholeFeed } from './helpers.ts';

function blocksOf(children: Buffer[]): BlockInfo[] {
  const input = Buffer.concat([ebmlHeader(), segmentElement({ children: [clusterElement({ timecode: 0, children })] })]);
  return wholeFeed(input).flatMap((e) => (e.type === 'block' ? [e.block] : []));
}

/** SimpleBlock with hand-made lacing bytes, for malformed cases the writer refuses to build. */
function rawSimpleBlock(flags: number, afterFlags: number[]): Buffer {
  return element(MKV_ID.SimpleBlock, Buffer.from([0x81, 0x00, 0x00, flags, ...afterFlags]));
}

function parseError(children: Buffer[]): MkvError {
  try {
    blocksOf(children);
  } catch (err) {
    return err as MkvError;
  }
  throw new Error('expected an MkvError');
}

describe('lacing', () => {
  const frames = [frameBytes(1, 600), frameBytes(2, 255), frameBytes(3, 0), frameBytes(4, 254), frameBytes(5, 17)];

  it.each(['xiph', 'ebml'] as const)('%s lacing yields the original frames', (lacing) => {
    const [block] = blocksOf([simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frames, lacing })]);
    expect(block?.lacing).toBe(lacing);
    expect(block?.frames).toEqual(frames);
  });

  it('EBML lacing handles shrinking and growing sizes (negative and positive deltas)', () => {
    const varied = [frameBytes(1, 9000), frameBytes(2, 3), frameBytes(3, 4000), frameBytes(4, 4000), frameBytes(5, 1)];
    expect(blocksOf([simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frames: varied, lacing: 'ebml' })])[0]?.frames).toEqual(varied);
  });

  it('fixed lacing splits evenly', () => {
    const same = [frameBytes(1, 64), frameBytes(2, 64), frameBytes(3, 64)];
    const [block] = blocksOf([simpleBlock({ track: 2, relativeTimecode: 0, keyframe: true, frames: same, lacing: 'fixed' })]);
    expect(block).toMatchObject({ lacing: 'fixed', track: 2 });
    expect(block?.frames).toEqual(same);
  });

  it('decodes the same when fed one byte at a time', () => {
    const input = Buffer.concat([
      ebmlHeader(),
      segmentElement({ children: [clusterElement({ timecode: 0, children: [simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frames, lacing: 'xiph' })] })] }),
    ]);
    const block = byteFeed(input).find((e) => e.type === 'block');
    expect(block?.type === 'block' && block.block.frames).toEqual(frames);
  });

  it('rejects bad lacing', () => {
    // fixed: 5 bytes do not split into 2 frames
    expect(parseError([rawSimpleBlock(0x84, [1, 1, 2, 3, 4, 5])]).message).toMatch(/bad fixed lacing/);
    // xiph: first frame claims 200 bytes, 3 follow
    expect(parseError([rawSimpleBlock(0x82, [1, 200, 1, 2, 3])]).message).toMatch(/bad xiph lacing/);
    // xiph: size bytes run off the end
    expect(parseError([rawSimpleBlock(0x82, [1, 255, 255])]).message).toMatch(/bad xiph lacing/);
    // ebml: second size = 10 + (-60) < 0
    expect(parseError([rawSimpleBlock(0x86, [2, 0x8a, 0xbf - 60, 1, 2, 3])]).message).toMatch(/negative frame size/);
    // laced block without the frame count byte
    expect(parseError([rawSimpleBlock(0x86, [])]).kind).toBe('invalid');
  });
});

describe('block headers', () => {
  it('reads flags, signed timecodes and multi-byte track numbers', () => {
    const [a, b] = blocksOf([
      simpleBlock({ track: 1, relativeTimecode: -32768, keyframe: true, frame: frameBytes(1, 5) }),
      simpleBlock({ track: 300, relativeTimecode: 32767, keyframe: false, invisible: true, discardable: true, frame: frameBytes(2, 5) }),
    ]);
    expect(a).toMatchObject({ simple: true, track: 1, relativeTimecode: -32768, keyframe: true, invisible: false, discardable: false });
    expect(b).toMatchObject({ simple: true, track: 300, relativeTimecode: 32767, keyframe: false, invisible: true, discardable: true });
  });

  it('BlockGroup with a ReferenceBlock is not a keyframe; without one it is', () => {
    const [ref, key] = blocksOf([
      blockGroup({ track: 1, relativeTimecode: 40, frame: frameBytes(1, 30), durationTicks: 40, referenceBlocks: [-40] }),
      blockGroup({ track: 1, relativeTimecode: 80, frame: frameBytes(2, 30) }),
    ]);
    expect(ref).toMatchObject({ simple: false, keyframe: false, hasReference: true, durationTicks: 40, relativeTimecode: 40, discardable: false });
    expect(ref?.frames).toEqual([frameBytes(1, 30)]);
    expect(key).toMatchObject({ simple: false, keyframe: true, hasReference: false });
    expect(key).not.toHaveProperty('durationTicks');
  });

  it('rejects malformed block headers and BlockGroups without a Block', () => {
    const short = element(MKV_ID.SimpleBlock, Buffer.from([0x81, 0x00]));
    expect(parseError([short]).message).toMatch(/malformed SimpleBlock header/);
    const zeroTrack = element(MKV_ID.SimpleBlock, Buffer.from([0x00, 0x00, 0x00, 0x80]));
    expect(parseError([zeroTrack]).kind).toBe('invalid');
    const noBlock = element(MKV_ID.BlockGroup, [element(MKV_ID.BlockDuration, Buffer.from([40]))]);
    expect(parseError([noBlock]).message).toMatch(/BlockGroup without a Block/);
    const shortBlock = element(MKV_ID.BlockGroup, [element(MKV_ID.Block, Buffer.concat([encodeVint(1), Buffer.from([0])]))]);
    expect(parseError([shortBlock]).message).toMatch(/malformed Block header/);
  });
});

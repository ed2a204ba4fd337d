/**
 * SimpleBlock and BlockGroup decoding: block header (track vint, int16 timecode, flags) and
 * lacing. Frames are views into the element bytes, never copies.
 */
import type { Buffer } from 'node:buffer';
import { invalid } from './errors.ts';
import { readChildren, readSignedVint, readUint, readVint } from './ebml.ts';
import { MKV_ID } from './ids.ts';
import type { BlockInfo, Lacing } from './types.ts';

const FLAG_KEYFRAME = 0x80;
const FLAG_INVISIBLE = 0x08;
const FLAG_DISCARDABLE = 0x01;
const LACING_BY_BITS: readonly Lacing[] = ['none', 'xiph', 'fixed', 'ebml'];

/**
 * Decode a complete SimpleBlock or BlockGroup element.
 * @param raw the whole element (ID + size + payload)
 * @param payloadStart header length inside raw
 * @param at absolute stream offset of raw[0]
 */
export function parseBlockElement(id: number, raw: Buffer, payloadStart: number, at: number): BlockInfo {
  if (id === MKV_ID.SimpleBlock) {
    const b = decodeBlockPayload(raw.subarray(payloadStart), at + payloadStart, 'SimpleBlock');
    return {
      simple: true,
      track: b.track,
      relativeTimecode: b.relativeTimecode,
      keyframe: (b.flags & FLAG_KEYFRAME) !== 0,
      invisible: (b.flags & FLAG_INVISIBLE) !== 0,
      discardable: (b.flags & FLAG_DISCARDABLE) !== 0,
      lacing: b.lacing,
      frames: b.frames,
    };
  }
  return parseBlockGroup(raw, payloadStart, at);
}

function parseBlockGroup(raw: Buffer, payloadStart: number, at: number): BlockInfo {
  let block: ReturnType<typeof decodeBlockPayload> | undefined;
  let durationTicks: number | undefined;
  let hasReference = false;
  for (const c of readChildren(raw, payloadStart, raw.length, at, 'BlockGroup')) {
    if (c.id === MKV_ID.Block) {
      if (block !== undefined) throw invalid(`BlockGroup at offset ${at} has more than one Block`, c.offset);
      block = decodeBlockPayload(c.data, c.dataOffset, 'Block');
    } else if (c.id === MKV_ID.BlockDuration) {
      durationTicks = readUint(c.data, c.offset);
    } else if (c.id === MKV_ID.ReferenceBlock) {
      hasReference = true;
    }
  }
  if (block === undefined) throw invalid(`BlockGroup without a Block at offset ${at}`, at);
  const info: BlockInfo = {
    simple: false,
    track: block.track,
    relativeTimecode: block.relativeTimecode,
    // Block has no keyframe flag: a frame that references nothing is a keyframe.
    keyframe: !hasReference,
    invisible: (block.flags & FLAG_INVISIBLE) !== 0,
    discardable: false,
    lacing: block.lacing,
    frames: block.frames,
    hasReference,
  };
  if (durationTicks !== undefined) info.durationTicks = durationTicks;
  return info;
}

interface DecodedBlock {
  track: number;
  relativeTimecode: number;
  flags: number;
  lacing: Lacing;
  frames: Buffer[];
}

/** @param at absolute offset of payload[0] */
function decodeBlockPayload(payload: Buffer, at: number, what: string): DecodedBlock {
  const track = readVint(payload, 0, at);
  if (track === undefined || payload.length < track.length + 3) {
    throw invalid(`malformed ${what} header at offset ${at}: ${payload.length} byte payload`, at);
  }
  const relativeTimecode = payload.readInt16BE(track.length);
  const flags = payload[track.length + 2]!;
  const lacing = LACING_BY_BITS[(flags >> 1) & 0x03]!;
  const dataStart = track.length + 3;
  const frames = lacing === 'none' ? [payload.subarray(dataStart)] : delace(payload, dataStart, lacing, at, what);
  return { track: track.value, relativeTimecode, flags, lacing, frames };
}

function delace(payload: Buffer, start: number, lacing: Lacing, at: number, what: string): Buffer[] {
  const bad = (why: string) => invalid(`bad ${lacing} lacing in ${what} at offset ${at}: ${why}`, at);
  if (start >= payload.length) throw bad('missing frame count');
  const count = payload[start]! + 1;
  let pos = start + 1;
  const sizes: number[] = [];

  if (lacing === 'fixed') {
    const total = payload.length - pos;
    if (total % count !== 0) throw bad(`${total} bytes do not split into ${count} equal frames`);
    for (let i = 0; i < count - 1; i++) sizes.push(total / count);
  } else if (lacing === 'xiph') {
    for (let i = 0; i < count - 1; i++) {
      let size = 0;
      for (;;) {
        if (pos >= payload.length) throw bad('lace sizes run past the block');
        const b = payload[pos++]!;
        size += b;
        if (b !== 0xff) break;
      }
      sizes.push(size);
    }
  } else {
    // EBML lacing: first size unsigned, then signed differences from the previous size.
    for (let i = 0; i < count - 1; i++) {
      const v = i === 0 ? readVint(payload, pos, at) : readSignedVint(payload, pos, at);
      if (v === undefined) throw bad('lace sizes run past the block');
      const size = i === 0 ? v.value : sizes[i - 1]! + v.value;
      if (size < 0) throw bad(`negative frame size ${size}`);
      sizes.push(size);
      pos += v.length;
    }
  }

  const laced = sizes.reduce((a, b) => a + b, 0);
  const remaining = payload.length - pos;
  if (laced > remaining) throw bad(`frame sizes total ${laced} but only ${remaining} bytes follow`);
  sizes.push(remaining - laced);

  const frames: Buffer[] = [];
  for (const size of sizes) {
    frames.push(payload.subarray(pos, pos + size));
    pos += size;
  }
  return frames;
}

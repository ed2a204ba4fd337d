/**
 * NAL unit framing shared by H.264 and H.265: MP4/Matroska samples carry length-prefixed NAL
 * units (the length size comes from avcC/hvcC); MPEG-TS wants Annex B start codes.
 */
import { Buffer } from 'node:buffer';

const START_CODE = Buffer.from([0, 0, 0, 1]);

/**
 * Why a length-prefixed sample is malformed, or undefined when its NAL lengths tile it exactly
 * (the last NAL unit ends on the sample's last byte). Walks the prefixes only: no
 * copies, no allocation, so ingest can run it on every frame.
 */
export function nalFramingProblem(sample: Uint8Array, lengthSize: number): string | undefined {
  const n = sample.byteLength;
  if (n === 0) return 'empty sample';
  let pos = 0;
  while (pos < n) {
    if (pos + lengthSize > n) return `sample ends inside a ${lengthSize}-byte NAL length at byte ${pos}`;
    let len = 0;
    for (let i = 0; i < lengthSize; i++) len = len * 256 + sample[pos + i]!;
    pos += lengthSize;
    if (len > n - pos) return `NAL unit of ${len} bytes at byte ${pos} overruns the ${n}-byte sample`;
    pos += len;
  }
  return undefined;
}

/** Splits a length-prefixed sample into NAL units (views, no copies). Throws RangeError on a bad length. */
export function splitLengthPrefixed(sample: Uint8Array, lengthSize: number): Buffer[] {
  const buf = Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength);
  const nals: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + lengthSize > buf.length) throw new RangeError(`sample ends inside a ${lengthSize}-byte NAL length at byte ${pos}`);
    const len = buf.readUIntBE(pos, lengthSize);
    pos += lengthSize;
    if (len > buf.length - pos) throw new RangeError(`NAL unit of ${len} bytes at byte ${pos} overruns the ${buf.length}-byte sample`);
    if (len > 0) nals.push(buf.subarray(pos, pos + len));
    pos += len;
  }
  return nals;
}

/** Joins NAL units with 4-byte start codes (always 4: valid anywhere, simplest). */
export function joinAnnexB(nals: readonly Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const nal of nals) parts.push(START_CODE, nal);
  return Buffer.concat(parts);
}

/** Joins NAL units with `lengthSize`-byte length prefixes (test builders, re-muxing). */
export function joinLengthPrefixed(nals: readonly Uint8Array[], lengthSize = 4): Buffer {
  const parts: Uint8Array[] = [];
  for (const nal of nals) {
    const len = Buffer.alloc(lengthSize);
    len.writeUIntBE(nal.length, 0, lengthSize);
    parts.push(len, nal);
  }
  return Buffer.concat(parts);
}

/** PES packets (ISO 13818-1 §2.4.3.6) carrying one access unit with its 90 kHz PTS/DTS. */
import { Buffer } from 'node:buffer';

/** 33-bit PTS/DTS space: timestamps wrap every 2^33 / 90000 s (about 26.5 hours). */
export const TIMESTAMP_MODULO = 2 ** 33;

/** Milliseconds → 90 kHz ticks in the 33-bit space ((ms × 90) mod 2^33). */
export function msTo90kHz(ms: number): number {
  const ticks = Math.round(ms * 90);
  return ((ticks % TIMESTAMP_MODULO) + TIMESTAMP_MODULO) % TIMESTAMP_MODULO;
}

/**
 * PES header + payload; the DTS field only when it differs from the PTS. A video PES longer than
 * 65535 bytes gets PES_packet_length 0, which ISO 13818-1 allows for video in TS.
 */
export function pesPacket(streamId: number, payload: Buffer, pts: number, dts: number): Buffer {
  const withDts = pts !== dts;
  const headerDataLength = withDts ? 10 : 5;
  const h = Buffer.alloc(9 + headerDataLength);
  h.writeUIntBE(0x000001, 0, 3);
  h[3] = streamId;
  const length = 3 + headerDataLength + payload.length;
  const isVideo = streamId >= 0xe0 && streamId <= 0xef;
  if (length > 0xffff && !isVideo) throw new RangeError(`PES payload of ${payload.length} bytes is too long for stream 0x${streamId.toString(16)}`);
  h.writeUInt16BE(length > 0xffff ? 0 : length, 4);
  h[6] = 0x84; // '10', not scrambled, data_alignment_indicator
  h[7] = withDts ? 0xc0 : 0x80;
  h[8] = headerDataLength;
  writeTimestamp(h, 9, withDts ? 0b0011 : 0b0010, pts);
  if (withDts) writeTimestamp(h, 14, 0b0001, dts);
  return Buffer.concat([h, payload]);
}

/** 4-bit prefix, then the 33 bits as 3 + 15 + 15 with marker bits. */
function writeTimestamp(b: Buffer, at: number, prefix: number, ts: number): void {
  const high = Math.floor(ts / 2 ** 30) & 0x07;
  const mid = Math.floor(ts / 2 ** 15) & 0x7fff;
  const low = ts % 2 ** 15;
  b[at] = (prefix << 4) | (high << 1) | 1;
  b.writeUInt16BE((mid << 1) | 1, at + 1);
  b.writeUInt16BE((low << 1) | 1, at + 3);
}

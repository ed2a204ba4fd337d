/**
 * Program-specific information for a single-program transport stream: the PAT (program 1 → PMT
 * PID) and the PMT (PCR PID and one entry per elementary stream), each with its CRC-32/MPEG-2.
 */
import { Buffer } from 'node:buffer';

export const PAT_PID = 0x0000;
export const PMT_PID = 0x1000;
const PROGRAM_NUMBER = 1;
const TRANSPORT_STREAM_ID = 1;

/** ISO 13818-1 Table 2-34 stream_type values for the codecs we carry. */
export const STREAM_TYPE = { AAC_ADTS: 0x0f, H264: 0x1b, H265: 0x24 } as const;

export interface PmtStream {
  pid: number;
  streamType: number;
}

export function patSection(): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt16BE(PROGRAM_NUMBER, 0);
  body.writeUInt16BE(0xe000 | PMT_PID, 2);
  return section(0x00, TRANSPORT_STREAM_ID, body);
}

export function pmtSection(pcrPid: number, streams: readonly PmtStream[]): Buffer {
  const body = Buffer.alloc(4 + 5 * streams.length);
  body.writeUInt16BE(0xe000 | pcrPid, 0);
  body.writeUInt16BE(0xf000, 2); // program_info_length 0
  streams.forEach((s, i) => {
    const at = 4 + 5 * i;
    body[at] = s.streamType;
    body.writeUInt16BE(0xe000 | s.pid, at + 1);
    body.writeUInt16BE(0xf000, at + 3); // ES_info_length 0
  });
  return section(0x02, PROGRAM_NUMBER, body);
}

/** A long-form section: header, the table body, CRC-32. */
function section(tableId: number, idExtension: number, body: Buffer): Buffer {
  const sectionLength = 5 + body.length + 4; // after the length field: 5 header bytes, body, CRC
  const head = Buffer.alloc(8);
  head[0] = tableId;
  head.writeUInt16BE(0xb000 | sectionLength, 1); // section_syntax_indicator, '0', reserved
  head.writeUInt16BE(idExtension, 3);
  head[5] = 0xc1; // reserved, version 0, current_next_indicator
  head[6] = 0; // section_number
  head[7] = 0; // last_section_number
  const withoutCrc = Buffer.concat([head, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32Mpeg2(withoutCrc));
  return Buffer.concat([withoutCrc, crc]);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC-32/MPEG-2: polynomial 0x04C11DB7, initial 0xFFFFFFFF, no reflection, no final XOR. */
export function crc32Mpeg2(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  return crc >>> 0;
}

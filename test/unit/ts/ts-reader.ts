/** A small MPEG-TS reader for tests: packets, adaptation fields, and PES/PSI reassembly by PID. */
import { Buffer } from 'node:buffer';

export interface TsPacket {
  pid: number;
  unitStart: boolean;
  cc: number;
  hasPayload: boolean;
  adaptation?: { length: number; randomAccess: boolean; pcr?: number };
  payload: Buffer;
}

export function readPackets(ts: Buffer): TsPacket[] {
  if (ts.length % 188 !== 0) throw new Error(`${ts.length} bytes is not a whole number of packets`);
  const out: TsPacket[] = [];
  for (let at = 0; at < ts.length; at += 188) {
    const p = ts.subarray(at, at + 188);
    if (p[0] !== 0x47) throw new Error(`no sync byte at ${at}`);
    const afc = (p[3]! >> 4) & 3;
    let pos = 4;
    const packet: TsPacket = { pid: ((p[1]! & 0x1f) << 8) | p[2]!, unitStart: (p[1]! & 0x40) !== 0, cc: p[3]! & 0x0f, hasPayload: (afc & 1) === 1, payload: Buffer.alloc(0) };
    if (afc & 2) {
      const length = p[4]!;
      const flags = length > 0 ? p[5]! : 0;
      packet.adaptation = { length, randomAccess: (flags & 0x40) !== 0 };
      if (flags & 0x10) packet.adaptation.pcr = p[6]! * 2 ** 25 + p[7]! * 2 ** 17 + p[8]! * 2 ** 9 + p[9]! * 2 + (p[10]! >> 7);
      pos = 5 + length;
    }
    if (packet.hasPayload) packet.payload = p.subarray(pos);
    out.push(packet);
  }
  return out;
}

export interface Pes {
  pid: number;
  streamId: number;
  packetLength: number;
  pts: number;
  dts: number;
  payload: Buffer;
  first: TsPacket;
}

const timestamp = (b: Buffer, at: number): number =>
  ((b[at]! >> 1) & 7) * 2 ** 30 + (b.readUInt16BE(at + 1) >> 1) * 2 ** 15 + (b.readUInt16BE(at + 3) >> 1);

/** PES packets in stream order, reassembled from payload_unit_start to the next one. */
export function readPes(packets: TsPacket[], pid: number): Pes[] {
  const units: Array<{ first: TsPacket; parts: Buffer[] }> = [];
  for (const p of packets.filter((x) => x.pid === pid)) {
    if (p.unitStart) units.push({ first: p, parts: [] });
    units.at(-1)?.parts.push(p.payload);
  }
  return units.map(({ first, parts }) => {
    const b = Buffer.concat(parts);
    if (b.readUIntBE(0, 3) !== 1) throw new Error('no PES start code');
    const flags = b[7]!;
    const pts = timestamp(b, 9);
    const dts = flags & 0x40 ? timestamp(b, 14) : pts;
    return { pid, streamId: b[3]!, packetLength: b.readUInt16BE(4), pts, dts, payload: b.subarray(9 + b[8]!), first };
  });
}

/** The section carried by a PSI packet (pointer_field honoured, CRC included). */
export function readSection(packet: TsPacket): Buffer {
  const start = 1 + packet.payload[0]!;
  const length = ((packet.payload[start + 1]! & 0x0f) << 8) | packet.payload[start + 2]!;
  return packet.payload.subarray(start, start + 3 + length);
}

/**
 * Splits PSI sections and PES packets into 188-byte transport packets: continuity counters from
 * the session state, an adaptation field for PCR / random_access_indicator on the first packet
 * of a PES, and adaptation-field stuffing to fill the last one.
 */
import { Buffer } from 'node:buffer';
import type { TsContinuityState } from './continuity.ts';

export const TS_PACKET_SIZE = 188;
const HEADER_SIZE = 4;
const PAYLOAD_ROOM = TS_PACKET_SIZE - HEADER_SIZE;

export interface PesPacketOptions {
  /** PCR base (90 kHz, 33 bits), written in the first packet. */
  pcr?: number;
  /** random_access_indicator: the PES starts a keyframe. */
  randomAccess?: boolean;
}

export class TsPacketizer {
  private readonly packets: Buffer[] = [];

  constructor(private readonly continuity: TsContinuityState) {}

  /** One section per packet run, pointer_field 0, 0xFF after the section. */
  writeSection(pid: number, section: Buffer): void {
    const payload = Buffer.concat([Buffer.from([0]), section]);
    for (let pos = 0; pos < payload.length; pos += PAYLOAD_ROOM) {
      const packet = Buffer.alloc(TS_PACKET_SIZE, 0xff);
      this.header(packet, pid, pos === 0, false);
      payload.copy(packet, HEADER_SIZE, pos, Math.min(pos + PAYLOAD_ROOM, payload.length));
      this.packets.push(packet);
    }
  }

  writePes(pid: number, pes: Buffer, opts: PesPacketOptions = {}): void {
    let pos = 0;
    let first = true;
    while (pos < pes.length) {
      const fields = first ? adaptationFields(opts) : undefined;
      // Room for payload once the adaptation field (length byte + flags + PCR) is in.
      const minAdaptation = fields ? 1 + fields.length : 0;
      const take = Math.min(PAYLOAD_ROOM - minAdaptation, pes.length - pos);
      const adaptationSize = PAYLOAD_ROOM - take; // stuffing grows the field to fill the packet
      const packet = Buffer.alloc(TS_PACKET_SIZE);
      this.header(packet, pid, first, adaptationSize > 0);
      if (adaptationSize > 0) writeAdaptationField(packet, adaptationSize, fields);
      pes.copy(packet, HEADER_SIZE + adaptationSize, pos, pos + take);
      this.packets.push(packet);
      pos += take;
      first = false;
    }
  }

  result(): Buffer {
    return Buffer.concat(this.packets);
  }

  private header(packet: Buffer, pid: number, unitStart: boolean, adaptation: boolean): void {
    packet[0] = 0x47;
    packet[1] = (unitStart ? 0x40 : 0) | ((pid >> 8) & 0x1f);
    packet[2] = pid & 0xff;
    packet[3] = (adaptation ? 0x30 : 0x10) | this.continuity.next(pid);
  }
}

/** Flags byte + optional PCR, or undefined when the first packet needs no adaptation field. */
function adaptationFields(opts: PesPacketOptions): Buffer | undefined {
  if (opts.pcr === undefined && !opts.randomAccess) return undefined;
  const b = Buffer.alloc(opts.pcr === undefined ? 1 : 7);
  b[0] = (opts.randomAccess ? 0x40 : 0) | (opts.pcr !== undefined ? 0x10 : 0);
  if (opts.pcr !== undefined) {
    const base = opts.pcr;
    b[1] = Math.floor(base / 2 ** 25) & 0xff;
    b[2] = Math.floor(base / 2 ** 17) & 0xff;
    b[3] = Math.floor(base / 2 ** 9) & 0xff;
    b[4] = Math.floor(base / 2) & 0xff;
    b[5] = ((base % 2) << 7) | 0x7e; // last base bit, 6 reserved bits, extension 0
    b[6] = 0;
  }
  return b;
}

/** `size` bytes in total: the length byte, then flags (+ PCR), then 0xFF stuffing. */
function writeAdaptationField(packet: Buffer, size: number, fields: Buffer | undefined): void {
  const at = HEADER_SIZE;
  packet[at] = size - 1;
  if (size === 1) return; // a lone length byte of 0: one byte of stuffing
  packet.fill(0xff, at + 1, at + size);
  if (fields) fields.copy(packet, at + 1);
  else packet[at + 1] = 0; // no flags, the rest is stuffing
}

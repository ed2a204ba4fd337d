/**
 * Splits PSI sections and PES packets into 188-byte transport packets: an adaptation field for
 * PCR / random_access_indicator on the first packet of a PES, and adaptation-field stuffing to fill
 * the last one.
 *
 * Continuity counters are a pure function of the segment: every PID starts at 0 and ends the segment
 * with a packet count that is a multiple of 16 (PSI sections are repeated, the last PES of each
 * elementary stream is spread over a few more packets). Consecutive segments therefore continue each
 * other's counters whatever order they are requested in, and the same segment URL returns the same
 * bytes on every node.
 */
import { Buffer } from 'node:buffer';

export const TS_PACKET_SIZE = 188;
const HEADER_SIZE = 4;
const PAYLOAD_ROOM = TS_PACKET_SIZE - HEADER_SIZE;
const CC_MODULO = 16;

export interface PesPacketOptions {
  /** PCR base (90 kHz, 33 bits), written in the first packet. */
  pcr?: number;
  /** random_access_indicator: the PES starts a keyframe. */
  randomAccess?: boolean;
}

interface LastPes {
  start: number;
  count: number;
  pes: Buffer;
  opts: PesPacketOptions;
}

export class TsPacketizer {
  private packets: Buffer[] = [];
  private readonly lastPes = new Map<number, LastPes>();

  /**
   * PSI tables, one section per packet run (pointer_field 0, 0xFF after the section), the whole set
   * written 16 times in turn (PAT, PMT, PAT, PMT…) so each PSI PID completes a counter cycle.
   */
  writeTables(tables: ReadonlyArray<{ pid: number; section: Buffer }>): void {
    for (let n = 0; n < CC_MODULO; n++) {
      for (const { pid, section } of tables) {
        const payload = Buffer.concat([Buffer.from([0]), section]);
        for (let pos = 0; pos < payload.length; pos += PAYLOAD_ROOM) {
          const packet = Buffer.alloc(TS_PACKET_SIZE, 0xff);
          header(packet, pid, pos === 0, false);
          payload.copy(packet, HEADER_SIZE, pos, Math.min(pos + PAYLOAD_ROOM, payload.length));
          this.packets.push(packet);
        }
      }
    }
  }

  writePes(pid: number, pes: Buffer, opts: PesPacketOptions = {}): void {
    const packets = pesPackets(pid, pes, opts);
    this.lastPes.set(pid, { start: this.packets.length, count: packets.length, pes, opts });
    for (const p of packets) this.packets.push(p);
  }

  result(): Buffer {
    this.padToWholeCycles();
    const next = new Map<number, number>();
    for (const packet of this.packets) {
      const pid = ((packet[1]! & 0x1f) << 8) | packet[2]!;
      const cc = next.get(pid) ?? 0;
      packet[3] = (packet[3]! & 0xf0) | cc;
      next.set(pid, (cc + 1) % CC_MODULO);
    }
    return Buffer.concat(this.packets);
  }

  /** Spreads each stream's last PES over more packets until the stream's count is a multiple of 16. */
  private padToWholeCycles(): void {
    const counts = new Map<number, number>();
    for (const packet of this.packets) {
      const pid = ((packet[1]! & 0x1f) << 8) | packet[2]!;
      counts.set(pid, (counts.get(pid) ?? 0) + 1);
    }
    const replaced = [...this.lastPes.entries()]
      .map(([pid, last]) => ({ pid, last, extra: (CC_MODULO - ((counts.get(pid) ?? 0) % CC_MODULO)) % CC_MODULO }))
      .filter((r) => r.extra > 0)
      .sort((a, b) => b.last.start - a.last.start); // from the end, so earlier indexes stay valid
    for (const { pid, last, extra } of replaced) {
      const packets = pesPackets(pid, last.pes, last.opts, last.count + extra);
      if (packets.length !== last.count + extra) continue; // too short to spread: left as it is
      this.packets.splice(last.start, last.count, ...packets);
    }
    this.lastPes.clear();
  }
}

/**
 * The PES in transport packets: as few as possible, or exactly `count` when given and possible
 * (each packet carries at least one payload byte; adaptation stuffing fills the rest).
 */
function pesPackets(pid: number, pes: Buffer, opts: PesPacketOptions, count?: number): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < pes.length) {
    const first = pos === 0;
    const fields = first ? adaptationFields(opts) : undefined;
    // Room for payload once the adaptation field (length byte + flags + PCR) is in.
    const room = PAYLOAD_ROOM - (fields ? 1 + fields.length : 0);
    const left = pes.length - pos;
    const packetsAfter = count === undefined ? 0 : Math.max(0, count - out.length - 1);
    const take = Math.max(1, Math.min(room, left - packetsAfter));
    const adaptationSize = PAYLOAD_ROOM - take; // stuffing grows the field to fill the packet
    const packet = Buffer.alloc(TS_PACKET_SIZE);
    header(packet, pid, first, adaptationSize > 0);
    if (adaptationSize > 0) writeAdaptationField(packet, adaptationSize, fields);
    pes.copy(packet, HEADER_SIZE + adaptationSize, pos, pos + take);
    out.push(packet);
    pos += take;
  }
  return out;
}

/** Counters are stamped in result(); the low nibble of byte 3 stays 0 until then. */
function header(packet: Buffer, pid: number, unitStart: boolean, adaptation: boolean): void {
  packet[0] = 0x47;
  packet[1] = (unitStart ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  packet[2] = pid & 0xff;
  packet[3] = adaptation ? 0x30 : 0x10;
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

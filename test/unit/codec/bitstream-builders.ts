/**
 * Inline builders for codec tests: a bit writer with Exp-Golomb codes and H.264/H.265 parameter
 * sets and decoder configuration records built field by field from the specs.
 */
import { Buffer } from 'node:buffer';

export class BitWriter {
  private bits: number[] = [];

  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(v / 2 ** i) % 2);
    return this;
  }

  flag(b: boolean): this {
    return this.u(1, b ? 1 : 0);
  }

  ue(v: number): this {
    const len = Math.floor(Math.log2(v + 1));
    return this.u(len, 0).u(len + 1, v + 1);
  }

  se(v: number): this {
    return this.ue(v <= 0 ? -2 * v : 2 * v - 1);
  }

  /** rbsp_trailing_bits: a stop bit, then zeros to the byte boundary. */
  trailing(): this {
    this.bits.push(1);
    while (this.bits.length % 8 !== 0) this.bits.push(0);
    return this;
  }

  bytes(): Buffer {
    const out = Buffer.alloc(Math.ceil(this.bits.length / 8));
    this.bits.forEach((b, i) => (out[i >> 3]! |= b << (7 - (i & 7))));
    return out;
  }
}

/** RBSP → NAL payload: 00 00 0x (x <= 3) gets an emulation-prevention 03. */
export function escapeRbsp(rbsp: Uint8Array): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

export interface H264SpsFields {
  profile?: number;
  compatibility?: number;
  level?: number;
  chromaFormat?: number;
  /** Writes seq_scaling_matrix_present_flag with these lists present (High profiles only). */
  scalingLists?: boolean;
  pocType?: 0 | 1 | 2;
  widthMbs: number;
  heightMapUnits: number;
  frameMbsOnly?: boolean;
  crop?: { left: number; right: number; top: number; bottom: number };
}

export function h264Sps(f: H264SpsFields): Buffer {
  const profile = f.profile ?? 100;
  const w = new BitWriter().u(8, profile).u(8, f.compatibility ?? 0).u(8, f.level ?? 31).ue(0);
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
    const chroma = f.chromaFormat ?? 1;
    w.ue(chroma);
    if (chroma === 3) w.flag(false);
    w.ue(0).ue(0).flag(false).flag(f.scalingLists ?? false);
    if (f.scalingLists) {
      for (let i = 0; i < (chroma !== 3 ? 8 : 12); i++) {
        const present = i % 2 === 0;
        w.flag(present);
        // Deltas that make every coefficient 16 (first delta +8, then 0s), ending with a 0 entry.
        if (present) for (let j = 0; j < (i < 6 ? 16 : 64); j++) w.se(j === 0 ? 8 : 0);
      }
    }
  }
  w.ue(0); // log2_max_frame_num_minus4
  const poc = f.pocType ?? 0;
  w.ue(poc);
  if (poc === 0) w.ue(2);
  if (poc === 1) w.flag(false).se(-3).se(2).ue(2).se(1).se(-1);
  w.ue(4).flag(false).ue(f.widthMbs - 1).ue(f.heightMapUnits - 1);
  const frameMbsOnly = f.frameMbsOnly ?? true;
  w.flag(frameMbsOnly);
  if (!frameMbsOnly) w.flag(false);
  w.flag(true); // direct_8x8_inference_flag
  w.flag(f.crop !== undefined);
  if (f.crop) w.ue(f.crop.left).ue(f.crop.right).ue(f.crop.top).ue(f.crop.bottom);
  w.flag(false).trailing(); // no VUI
  return Buffer.concat([Buffer.from([0x67]), escapeRbsp(w.bytes())]);
}

export const H264_PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);

export function avcC(o: { sps: Buffer[]; pps: Buffer[]; lengthSize?: number }): Buffer {
  const first = o.sps[0] ?? Buffer.from([0x67, 0x42, 0x00, 0x1e]);
  const parts: Buffer[] = [Buffer.from([1, first[1]!, first[2]!, first[3]!, 0xfc | ((o.lengthSize ?? 4) - 1), 0xe0 | o.sps.length])];
  for (const s of o.sps) parts.push(u16(s.length), s);
  parts.push(Buffer.from([o.pps.length]));
  for (const p of o.pps) parts.push(u16(p.length), p);
  return Buffer.concat(parts);
}

export interface HevcPtl {
  profileSpace?: number;
  tier?: number;
  profile?: number;
  compatibility?: number;
  /** 6 bytes. */
  constraints?: number[];
  level?: number;
}

function writePtl(w: BitWriter, p: HevcPtl): void {
  w.u(2, p.profileSpace ?? 0).u(1, p.tier ?? 0).u(5, p.profile ?? 1).u(32, p.compatibility ?? 0x60000000);
  for (const c of p.constraints ?? [0xb0, 0, 0, 0, 0, 0]) w.u(8, c);
  w.u(8, p.level ?? 93);
}

export function h265Sps(o: { width: number; height: number; window?: [number, number, number, number]; subLayers?: number; ptl?: HevcPtl }): Buffer {
  const subLayers = o.subLayers ?? 0;
  const w = new BitWriter().u(4, 0).u(3, subLayers).u(1, 1);
  writePtl(w, o.ptl ?? {});
  for (let i = 0; i < subLayers; i++) w.flag(true).flag(true);
  if (subLayers > 0) for (let i = subLayers; i < 8; i++) w.u(2, 0);
  for (let i = 0; i < subLayers; i++) {
    w.u(32, 0).u(32, 0).u(24, 0); // 88 bits of sub-layer profile
    w.u(8, 90); // sub_layer_level_idc
  }
  w.ue(0).ue(1).ue(o.width).ue(o.height); // sps id, chroma 4:2:0, size
  w.flag(o.window !== undefined);
  if (o.window) for (const v of o.window) w.ue(v);
  w.ue(0).ue(0).ue(4).trailing(); // a few following fields; the parser stops before them
  return Buffer.concat([Buffer.from([33 << 1, 0x01]), escapeRbsp(w.bytes())]);
}

export const H265_VPS = Buffer.from([32 << 1, 0x01, 0x0c, 0x01, 0xff, 0xff]);
export const H265_PPS = Buffer.from([34 << 1, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40]);

export function hvcC(o: { ptl?: HevcPtl; lengthSize?: number; arrays: Array<{ type: number; nals: Buffer[] }> }): Buffer {
  const p = o.ptl ?? {};
  const w = new BitWriter().u(8, 1);
  writePtl(w, p);
  w.u(4, 0xf).u(12, 0).u(6, 0x3f).u(2, 0).u(6, 0x3f).u(2, 1).u(5, 0x1f).u(3, 0).u(5, 0x1f).u(3, 0);
  w.u(16, 0).u(2, 0).u(3, 1).u(1, 1).u(2, (o.lengthSize ?? 4) - 1).u(8, o.arrays.length);
  const parts: Buffer[] = [w.bytes()];
  for (const a of o.arrays) {
    parts.push(Buffer.from([0x80 | a.type]), u16(a.nals.length));
    for (const n of a.nals) parts.push(u16(n.length), n);
  }
  return Buffer.concat(parts);
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

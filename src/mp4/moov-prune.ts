/**
 * Before mp4box sees a `moov`, keep only the boxes the track mapping reads, following a fixed
 * schema. mp4box parses nested boxes recursively, so a moov of thousands of nested `udta`/`trak`
 * boxes overflowed the stack (an internal error instead of 4006), and junk boxes cost seconds of
 * parsing and log noise. Our walk recurses only along the schema below, so its depth is bounded by
 * the schema (8 levels), never by the input; everything else (udta, meta, dinf, unknown boxes) is
 * dropped unread.
 */
import { Buffer } from 'node:buffer';
import { invalidMp4 } from './errors.ts';

/** Containers kept and the children kept under each; anything not named here is a leaf copied as is. */
const CONTAINERS: Record<string, readonly string[]> = {
  moov: ['mvhd', 'trak', 'mvex'],
  trak: ['tkhd', 'edts', 'mdia'],
  edts: ['elst'],
  mdia: ['mdhd', 'hdlr', 'minf'],
  minf: ['stbl'],
  stbl: ['stsd', 'stsz', 'stz2'],
  mvex: ['mehd', 'trex'],
};
const VISUAL_ENTRIES = new Set(['avc1', 'avc3', 'hvc1', 'hev1']);
/** SampleEntry (8) + VisualSampleEntry fields (70). */
const VISUAL_FIXED = 78;
/** SampleEntry (8) + AudioSampleEntry fields (20); QuickTime versions 1 and 2 add 16 / 36. */
const AUDIO_FIXED = 28;
/** An esds is a few dozen bytes; its descriptors are parsed recursively too, so bound them. */
const MAX_ESDS_BYTES = 1024;
const ENTRY_CHILDREN: Record<string, readonly string[]> = { avc1: ['avcC'], avc3: ['avcC'], hvc1: ['hvcC'], hev1: ['hvcC'], mp4a: ['esds'] };

interface RawBox {
  type: string;
  /** Payload (after the header). */
  payload: Buffer;
  /** Absolute offset of the box, for error messages. */
  at: number;
}

/** `moov` is the whole box (header included); `offset` its absolute stream offset. */
export function pruneMoov(moov: Buffer, offset = 0): Buffer {
  const [box] = children(moov, 0, moov.length, offset);
  if (!box || box.type !== 'moov') throw invalidMp4(`expected a moov box at offset ${offset}`, offset);
  return container(box);
}

function container(box: RawBox): Buffer {
  const keep = CONTAINERS[box.type];
  if (keep === undefined) return boxBytes(box.type, [box.payload]);
  const kept = children(box.payload, 0, box.payload.length, box.at + 8).filter((c) => keep.includes(c.type));
  return boxBytes(box.type, kept.map((c) => (c.type === 'stsd' ? stsd(c) : container(c))));
}

/** stsd: full box header + entry_count, then one box per sample entry. */
function stsd(box: RawBox): Buffer {
  if (box.payload.length < 8) throw invalidMp4(`stsd at offset ${box.at} is truncated`, box.at);
  const entries = children(box.payload, 8, box.payload.length, box.at + 8);
  return boxBytes('stsd', [box.payload.subarray(0, 8), ...entries.map(sampleEntry)]);
}

function sampleEntry(entry: RawBox): Buffer {
  const p = entry.payload;
  let fixed: number;
  if (VISUAL_ENTRIES.has(entry.type)) fixed = VISUAL_FIXED;
  else if (entry.type === 'mp4a') {
    const version = p.length >= 10 ? p.readUInt16BE(8) : 0;
    fixed = AUDIO_FIXED + (version === 1 ? 16 : version === 2 ? 36 : 0);
  } else {
    // Not a codec we map: keep its fixed fields so mp4box still names it (the mapping reports it unsupported).
    return boxBytes(entry.type, [p.subarray(0, Math.min(p.length, VISUAL_FIXED))]);
  }
  if (p.length < fixed) throw invalidMp4(`'${entry.type}' sample entry at offset ${entry.at} is truncated`, entry.at);
  const wanted = ENTRY_CHILDREN[entry.type] ?? [];
  const kept = children(p, fixed, p.length, entry.at + 8).filter((c) => wanted.includes(c.type));
  for (const c of kept) {
    if (c.type === 'esds' && c.payload.length > MAX_ESDS_BYTES) throw invalidMp4(`esds at offset ${c.at} is ${c.payload.length} bytes`, c.at);
  }
  return boxBytes(entry.type, [p.subarray(0, fixed), ...kept.map((c) => boxBytes(c.type, [c.payload]))]);
}

/** The boxes in buf[from, to): 32-bit, 64-bit (size 1) and to-the-end (size 0) sizes. */
function children(buf: Buffer, from: number, to: number, base: number): RawBox[] {
  const out: RawBox[] = [];
  let pos = from;
  while (pos < to) {
    if (to - pos < 8) throw invalidMp4(`truncated box header at offset ${base + pos}`, base + pos);
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let header = 8;
    if (size === 1) {
      if (to - pos < 16) throw invalidMp4(`truncated box header at offset ${base + pos}`, base + pos);
      const big = buf.readBigUInt64BE(pos + 8);
      size = big > BigInt(to - pos) ? Number.MAX_SAFE_INTEGER : Number(big);
      header = 16;
    } else if (size === 0) size = to - pos;
    if (size < header || size > to - pos) throw invalidMp4(`box '${type}' at offset ${base + pos} has a bad size ${size}`, base + pos);
    out.push({ type, payload: buf.subarray(pos + header, pos + size), at: base + pos });
    pos += size;
  }
  return out;
}

function boxBytes(type: string, parts: readonly Buffer[]): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + parts.reduce((n, p) => n + p.length, 0), 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, ...parts]);
}

/**
 * Small, deterministic mutation fuzzing helpers: a seeded PRNG, byte-level mutators for PutMedia
 * bodies (MKV and fMP4 aware where it matters: size fields, nesting) and JSON/query mutators.
 * Every choice goes through the PRNG, so a seed reproduces a run exactly.
 */
import fs from 'node:fs';

/** mulberry32: tiny, fast, good enough to pick mutations. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

export interface Mutation {
  name: string;
  body: Buffer;
}

/** Offsets of EBML element headers (a known ID followed by a size vint), found by scanning for IDs we know. */
function ebmlSizeOffsets(body: Buffer): number[] {
  const ids = [[0x1a, 0x45, 0xdf, 0xa3], [0x18, 0x53, 0x80, 0x67], [0x16, 0x54, 0xae, 0x6b], [0x1f, 0x43, 0xb6, 0x75], [0x12, 0x54, 0xc3, 0x67], [0xae], [0xa3], [0x63, 0xa2], [0x86], [0xe7]];
  const out: number[] = [];
  for (const id of ids) {
    if (id.length === 1) continue; // 1-byte IDs are everywhere; size fields after 4-byte IDs are enough
    let i = body.indexOf(Buffer.from(id));
    while (i >= 0 && out.length < 200) {
      out.push(i + id.length);
      i = body.indexOf(Buffer.from(id), i + 1);
    }
  }
  // A few SimpleBlock/TrackEntry/CodecPrivate sizes too (1- and 2-byte IDs), sampled.
  for (const id of [[0xa3], [0xae], [0x63, 0xa2]]) {
    let i = body.indexOf(Buffer.from(id));
    let n = 0;
    while (i >= 0 && n++ < 20) {
      out.push(i + id.length);
      i = body.indexOf(Buffer.from(id), i + 1);
    }
  }
  return out;
}

/** Offsets of ISO box headers found by walking the top level and the known containers. */
function boxOffsets(body: Buffer): number[] {
  const out: number[] = [];
  const containers = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'mvex', 'moof', 'traf', 'edts', 'dinf']);
  const walk = (from: number, to: number, depth: number) => {
    let pos = from;
    while (pos + 8 <= to && depth < 10) {
      const size = body.readUInt32BE(pos);
      const type = body.toString('latin1', pos + 4, pos + 8);
      if (size < 8 || pos + size > to) return;
      out.push(pos);
      if (containers.has(type)) walk(pos + 8, pos + size, depth + 1);
      else if (type === 'stsd') walk(pos + 16, pos + size, depth + 1);
      pos += size;
    }
  };
  walk(0, body.length, 0);
  return out;
}

/** One mutation of a valid body; `kind` picks MKV- or fMP4-aware size corruption and nesting. */
export function mutateBody(rng: Rng, body: Buffer, kind: 'mkv' | 'fmp4'): Mutation {
  const ops = ['bitflip', 'bitflip', 'insert', 'delete', 'truncate', 'size-field', 'size-field', 'huge-size', 'nesting', 'splice', 'header-only', 'empty'] as const;
  const op = rng.pick(ops);
  const b = Buffer.from(body);
  switch (op) {
    case 'bitflip': {
      const flips = 1 + rng.int(8);
      // Most flips land in the first KB (headers, Tracks, moov), where parsers decide the most.
      for (let i = 0; i < flips; i++) {
        const at = rng.next() < 0.6 ? rng.int(Math.min(b.length, 1024)) : rng.int(b.length);
        b[at]! ^= 1 << rng.int(8);
      }
      return { name: `bitflip×${flips}`, body: b };
    }
    case 'insert': {
      const at = rng.int(b.length);
      return { name: `insert@${at}`, body: Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(16)), b.subarray(at)]) };
    }
    case 'delete': {
      const at = rng.int(b.length);
      return { name: `delete@${at}`, body: Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(16))]) };
    }
    case 'truncate': {
      const at = rng.int(b.length);
      return { name: `truncate@${at}`, body: b.subarray(0, at) };
    }
    case 'size-field':
    case 'huge-size': {
      const offsets = kind === 'mkv' ? ebmlSizeOffsets(b) : boxOffsets(b);
      if (offsets.length === 0) return { name: 'bitflip-fallback', body: b.fill(rng.int(256), 0, 1) };
      const at = rng.pick(offsets);
      if (kind === 'fmp4') {
        const value = op === 'huge-size' ? rng.pick([0xffffffff, 0x7fffffff, 1, 0]) : rng.int(2 ** 32);
        b.writeUInt32BE(value >>> 0, at);
        return { name: `${op}(box@${at}=${value})`, body: b };
      }
      // EBML: rewrite the size vint's first byte (keeping its length) or claim an 8-byte huge/unknown size.
      if (op === 'huge-size' && at + 8 <= b.length) {
        const huge = rng.pick([Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), Buffer.from([0x01, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff])]);
        huge.copy(b, at);
        return { name: `huge-size(ebml@${at})`, body: b };
      }
      b[at] = rng.int(256);
      return { name: `size-field(ebml@${at})`, body: b };
    }
    case 'nesting':
      return { name: 'deep-nesting', body: kind === 'mkv' ? deepMkv(rng, b) : deepMoov(rng, b) };
    case 'splice': {
      // A copy of a random range inserted elsewhere: duplicate clusters/boxes, overlapping structure.
      const from = rng.int(b.length);
      const len = 1 + rng.int(Math.min(4096, b.length - from));
      const at = rng.int(b.length);
      return { name: `splice(${from}+${len}@${at})`, body: Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)]) };
    }
    case 'header-only': {
      const cut = kind === 'mkv' ? b.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75])) : b.indexOf(Buffer.from('moof', 'latin1')) - 4;
      return { name: 'header-only', body: b.subarray(0, Math.max(0, cut)) };
    }
    case 'empty':
      return { name: 'empty', body: Buffer.alloc(0) };
  }
}

/** Inserts thousands of nested elements: SimpleTags in a Tags element, or Void-in-unknown masters, after the header. */
function deepMkv(rng: Rng, body: Buffer): Buffer {
  const depth = 2000 + rng.int(30_000);
  const id = rng.pick([[0x67, 0xc8], [0x73, 0x73], [0xa0], [0x1f, 0x43, 0xb6, 0x75]]);
  const unit = id.length + 8;
  const nested = Buffer.alloc(unit * depth);
  for (let i = 0; i < depth; i++) {
    Buffer.from(id).copy(nested, unit * i);
    nested[unit * i + id.length] = 0x01;
    nested.writeUIntBE(unit * (depth - i - 1), unit * i + id.length + 3, 5);
  }
  const at = Math.max(0, body.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75])));
  return Buffer.concat([body.subarray(0, at), nested, body.subarray(at)]);
}

/** Appends thousands of nested boxes to the moov (its size rewritten), or puts them at the top level. */
function deepMoov(rng: Rng, body: Buffer): Buffer {
  const depth = 2000 + rng.int(50_000);
  const type = rng.pick(['udta', 'trak', 'moov', 'meta', 'edts', 'mdia', 'traf', 'zzzz']);
  const nested = Buffer.alloc(8 * depth);
  for (let i = 0; i < depth; i++) {
    nested.writeUInt32BE(8 * (depth - i), 8 * i);
    nested.write(type, 8 * i + 4, 'latin1');
  }
  const moov = body.indexOf(Buffer.from('moov', 'latin1')) - 4;
  if (moov < 0) return Buffer.concat([body, nested]);
  const size = body.readUInt32BE(moov);
  const grown = Buffer.from(body.subarray(moov, moov + size));
  grown.writeUInt32BE(size + nested.length, 0);
  return Buffer.concat([body.subarray(0, moov), grown, nested, body.subarray(moov + size)]);
}

/** Random chunk boundaries (1 byte to 64 KB), as a network would cut the body. */
export function randomChunks(rng: Rng, body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; ) {
    const n = rng.pick([1, 7, 100, 1000, 4096, 65536]) * (1 + rng.int(3));
    out.push(body.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** Values that break type and range assumptions. */
const NASTY: readonly unknown[] = [
  null, true, false, 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, '', ' ', 'a'.repeat(5000), '../../etc/passwd', '\u0000', '🙂', 'NaN', '1e309',
  [], [1, 2, 3], {}, { __proto__: { polluted: true } }, { constructor: { prototype: { polluted: true } } }, '2024-01-01T00:00:00Z', '-1', '99999999999999999999999999999999999999999999999',
];

/** One mutation of a JSON value (deep copy): change a value's type, drop or add a key, nest deeply. */
export function mutateJson(rng: Rng, value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  const paths: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const collect = (v: unknown) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        paths.push({ parent: v, key: i });
        collect(x);
      });
    } else if (v && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        paths.push({ parent: v as Record<string, unknown>, key: k });
        collect((v as Record<string, unknown>)[k]);
      }
    }
  };
  collect(copy);
  const op = rng.int(5);
  if (paths.length === 0 || op === 4) return rng.next() < 0.5 ? rng.pick(NASTY) : deepJson(rng);
  const { parent, key } = rng.pick(paths);
  const p = parent as Record<string | number, unknown>;
  if (op === 0) p[key] = rng.pick(NASTY);
  else if (op === 1) delete p[key];
  else if (op === 2) p[key] = deepJson(rng);
  else p[`${String(key)}x`] = rng.pick(NASTY);
  return copy;
}

function deepJson(rng: Rng): unknown {
  let v: unknown = 1;
  for (let i = 0, n = 100 + rng.int(2000); i < n; i++) v = rng.next() < 0.5 ? [v] : { a: v };
  return v;
}

/** A JSON text, sometimes broken (truncated, trailing garbage, not JSON at all). */
export function jsonText(rng: Rng, value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  const r = rng.int(10);
  if (r === 0) return text.slice(0, rng.int(text.length));
  if (r === 1) return text + '}}]]';
  if (r === 2) return rng.pick(['', 'null', '[]', '"x"', '{', 'garbage', '{"a":1,"a":2}']);
  return text;
}

/** A query-string value mutation. */
export function mutateQueryValue(rng: Rng, value: string): string {
  return rng.pick([
    '', '-1', '0', '1', '999999999999', '1e5', 'abc', value + 'x', value.slice(0, Math.max(0, value.length - 3)), '%00', '%', '%E0%A4%A', 'a'.repeat(10_000),
    value.replace(/[0-9]/, '9'), encodeURIComponent('../../'), '[object Object]', value.split('').reverse().join(''),
  ]);
}

/** Resident set size of a process, bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples a process's RSS every 200 ms from now on; `stop()` gives the baseline and the peak. */
export function sampleRss(pid: number): { stop(): { baseline: number; peak: number } } {
  const baseline = rssBytes(pid);
  let peak = baseline;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      // the process is gone: the caller's assertions say so
    }
  }, 200);
  return {
    stop: () => {
      clearInterval(timer);
      return { baseline, peak };
    },
  };
}

/** Resolves the promise, or rejects after `ms` naming what hung. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

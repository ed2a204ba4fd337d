import { describe, expect, it } from 'vitest';
import { MkvStreamParser, tagsElement } from '../../../src/mkv/index.ts';
import { FragmentAssembler, type AssemblerOutput } from '../../../src/ingest/fragment-assembler.ts';
import type { AckError } from '../../../src/shared/errors.ts';
import { mkvCluster, mkvHeader, pieces } from '../../support/synthetic-mkv.ts';

const limits = { maxFragmentBytes: 1_000_000, maxFragmentDurationMs: 20_000, maxTracks: 3, maxFragmentTags: 10 };

function run(body: Buffer, chunk = body.length, opts: { relativeStartMs?: number } = {}) {
  const parser = new MkvStreamParser();
  const asm = new FragmentAssembler(limits, opts.relativeStartMs === undefined ? 'ABSOLUTE' : 'RELATIVE', opts.relativeStartMs);
  const out: AssemblerOutput[] = [];
  for (const p of pieces(body, chunk)) {
    asm.accept(parser.push(p), out);
    out.push(...asm.flushComplete());
  }
  asm.accept(parser.end(), out);
  out.push(...asm.finish());
  return out;
}

const completed = (out: AssemblerOutput[]) => out.flatMap((o) => (o.type === 'completed' ? [o.fragment] : []));

describe('FragmentAssembler', () => {
  it('makes one fragment per cluster, whatever the chunking, with header, duration and a re-headed cluster', () => {
    const body = Buffer.concat([mkvHeader(), mkvCluster({ timecode: 1000 }), mkvCluster({ timecode: 2000, unknownSize: true })]);
    for (const chunk of [1, 7, 100, body.length]) {
      const frags = completed(run(body, chunk));
      expect(frags.map((f) => f.timecode)).toEqual([1000, 2000]);
      expect(frags.map((f) => f.durationMs)).toEqual([1000, 1000]);
      const stored = Buffer.concat(frags[1]!.chunks);
      expect(stored.readUInt32BE(0)).toBe(0x1f43b675);
      expect(stored[4]).toBe(0x01); // 8-byte known size even though the producer sent unknown size
      expect(Number(stored.readBigUInt64BE(4) & 0x00ffffffffffffffn)).toBe(stored.length - 12);
      // The header GetMedia repeats: EBML header then an unknown-size Segment.
      expect(frags[0]!.header.readUInt32BE(0)).toBe(0x1a45dfa3);
    }
  });

  it('announces a fragment (BUFFERING) before it completes, and completes a known-size cluster at once', () => {
    const parser = new MkvStreamParser();
    const asm = new FragmentAssembler(limits, 'ABSOLUTE', undefined);
    const cluster = mkvCluster({ timecode: 0 });
    const first = asm.accept(parser.push(Buffer.concat([mkvHeader(), cluster.subarray(0, 100)])));
    expect(first.map((o) => o.type)).toEqual(['started']);
    asm.accept(parser.push(cluster.subarray(100)));
    expect(asm.flushComplete().map((o) => o.type)).toEqual(['completed']);
  });

  it('attaches producer tags and reserved flags to the preceding unknown-size cluster and ends it at the EOFR tag', () => {
    const body = Buffer.concat([
      mkvHeader(),
      mkvCluster({ timecode: 0, unknownSize: true }),
      tagsElement([{ name: 'zone', value: 'porch' }, { name: 'AWS_KINESISVIDEO_IMAGE_GENERATION', value: '' }]),
      tagsElement([{ name: 'AWS_KINESISVIDEO_END_OF_FRAGMENT', value: '' }]),
    ]);
    const parser = new MkvStreamParser();
    const asm = new FragmentAssembler(limits, 'ABSOLUTE', undefined);
    const out = asm.accept(parser.push(body)); // no end(): the EOFR marker alone closes the fragment
    const [f] = completed(out);
    expect(f!.tags).toEqual({ zone: 'porch' });
    expect(f!.flags).toBe(1);
  });

  it('RELATIVE mode adds the producer start time', () => {
    const frags = completed(run(Buffer.concat([mkvHeader(), mkvCluster({ timecode: 500 })]), undefined, { relativeStartMs: 1_000_000 }));
    expect(frags[0]!.producerTimestampMs).toBe(1_000_500);
    expect(frags[0]!.timecode).toBe(500);
  });

  it('throws 4004 for a fragment that does not start after the previous one ended', () => {
    const body = Buffer.concat([mkvHeader(), mkvCluster({ timecode: 1000 }), mkvCluster({ timecode: 1960 })]);
    expect(() => run(body)).toThrow(expect.objectContaining({ errorId: 4004 }) as unknown as AckError);
  });

  it('throws 4006 for a cluster before Tracks', () => {
    const parser = new MkvStreamParser();
    const asm = new FragmentAssembler(limits, 'ABSOLUTE', undefined);
    const header = mkvHeader();
    const noTracks = header.subarray(0, header.length - mkvHeader().length + header.indexOf(Buffer.from([0x16, 0x54, 0xae, 0x6b])));
    expect(() => asm.accept(parser.push(Buffer.concat([noTracks, mkvCluster({ timecode: 0 })])))).toThrow(/Tracks/);
  });
});

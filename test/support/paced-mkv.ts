/**
 * Re-sends an MKV file the way the KVS producer SDK / kvssink do: the header once, then one
 * unknown-size Cluster per fragment whose blocks leave in real time, frame by frame. (ffmpeg's
 * Matroska muxer buffers whole clusters, so with it a fragment arrives at once; LL-HLS parts need
 * the fragment to grow while it is being received.)
 */
import fs from 'node:fs';
import { MkvStreamParser, MKV_ID, unknownSizeHeader } from '../../src/mkv/index.ts';

interface PacedCluster {
  start: Buffer[];
  blocks: Array<{ raw: Buffer; ms: number }>;
}

export function readForPacing(file: string): { header: Buffer; clusters: PacedCluster[] } {
  const parser = new MkvStreamParser();
  const header: Buffer[] = [];
  const clusters: PacedCluster[] = [];
  let scaleMs = 1;
  let clusterMs = 0;
  for (const ev of [...parser.push(fs.readFileSync(file)), ...parser.end()]) {
    if (ev.type === 'ebml-header') header.push(ev.raw, unknownSizeHeader(MKV_ID.Segment));
    else if (ev.type === 'info') {
      scaleMs = ev.timecodeScale / 1_000_000;
      header.push(ev.raw);
    } else if (ev.type === 'tracks') header.push(ev.raw);
    else if (ev.type === 'cluster-timecode') {
      clusterMs = ev.timecode * scaleMs;
      clusters.push({ start: [unknownSizeHeader(MKV_ID.Cluster), ev.raw], blocks: [] });
    } else if (ev.type === 'block') {
      clusters.at(-1)!.blocks.push({ raw: ev.raw, ms: clusterMs + ev.block.relativeTimecode * scaleMs });
    }
  }
  return { header: Buffer.concat(header), clusters };
}

/** Async pieces for rawPutMedia: blocks paced at their timestamps (relative to the first block). */
export async function* pacedPieces(file: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<Buffer> {
  const { header, clusters } = readForPacing(file);
  yield header;
  const t0 = Date.now();
  const first = clusters[0]?.blocks[0]?.ms ?? 0;
  for (const c of clusters) {
    yield Buffer.concat(c.start);
    for (const b of c.blocks) {
      if (opts.signal?.aborted) return;
      const wait = t0 + (b.ms - first) - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      yield b.raw;
    }
  }
}

/**
 * 5. GetMedia read throughput over archived fragments: one stream is filled with 2 MB
 * fragments, then GetMedia EARLIEST reads them all (done when the last fragment's
 * CONTINUATION_TOKEN has arrived). Baseline: the same stream's segment files read straight
 * from disk with fs.createReadStream. Both read from the page cache (the data was just
 * written; one un-timed warm-up pass of each). Repetitions alternate the order (disk then
 * GetMedia, then GetMedia then disk); the repetition with the median GetMedia/disk ratio is reported.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createStreams, openReader } from './lib/http.ts';
import { SyntheticCamera } from './lib/mkv.ts';
import { cpuPercent, makeDataDir, startChild, type ChildServer } from './lib/procs.ts';
import { median, medianPair, result, type BenchContext, type BenchResult } from './lib/results.ts';
import { upload } from './ingest.ts';

/** Reads the stream from the first fragment until `lastFragment` has arrived whole. */
async function getMediaAll(
  url: string,
  stream: string,
  lastFragment: string,
): Promise<{ bytes: number; seconds: number; complete: boolean; clientCpuPct: number }> {
  // The number appears twice in the last fragment: in the leading KVS tags and in the trailing
  // CONTINUATION_TOKEN; the second sighting is the end. Random payload cannot match 47 digits.
  const needle = Buffer.from(lastFragment);
  let bytes = 0;
  let seen = 0;
  let tail = Buffer.alloc(0);
  let finishedAt = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const reader = openReader(`${url}/getMedia`, { json: { StreamName: stream, StartSelector: { StartSelectorType: 'EARLIEST' } } }, (chunk, at) => {
    bytes += chunk.length;
    // Search the chunk plus the previous chunk's last bytes, for a number split across chunks.
    const hay = tail.length ? Buffer.concat([tail, chunk.subarray(0, needle.length)]) : undefined;
    if (hay && hay.indexOf(needle) >= 0) seen++;
    for (let i = chunk.indexOf(needle); i >= 0; i = chunk.indexOf(needle, i + 1)) seen++;
    tail = Buffer.from(chunk.subarray(Math.max(0, chunk.length - needle.length + 1)));
    if (seen >= 2 && !finishedAt) {
      finishedAt = at;
      resolveDone();
    }
  });
  const status = await reader.ready;
  if (status !== 200) throw new Error(`GetMedia HTTP ${status}`);
  await Promise.race([done, reader.done, new Promise((r) => setTimeout(r, 120_000))]);
  const cpu = process.cpuUsage(cpu0);
  reader.close();
  const seconds = ((finishedAt || performance.now()) - t0) / 1000;
  return { bytes, seconds, complete: finishedAt > 0, clientCpuPct: (cpu.user + cpu.system) / 1e4 / seconds };
}

async function readSegments(dir: string): Promise<{ bytes: number; seconds: number }> {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
  const t0 = performance.now();
  let bytes = 0;
  for (const f of files) {
    for await (const chunk of fs.createReadStream(path.join(dir, f)) as AsyncIterable<Buffer>) bytes += chunk.length;
  }
  return { bytes, seconds: (performance.now() - t0) / 1000 };
}

export async function readBench(ctx: BenchContext): Promise<BenchResult[]> {
  const cam = new SyntheticCamera({ frameBytes: 80_000, frames: 25 });
  const fragments = ctx.quick ? 20 : 100;
  const reps = ctx.quick ? 2 : 4; // even: as many of each order
  const server: ChildServer = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'read'), { profile: ctx.profile });
  try {
    await createStreams(server.url, ['archive']);
    ctx.log(`storing ${fragments} × 2 MB fragments`);
    const stored = await upload(server, 'kestrel', ['archive'], cam, fragments);
    if (stored.errors.length) throw new Error(`ingest failed: ${stored.errors.slice(0, 3).join('; ')}`);
    const lastFragment = stored.producers[0]!.persistedNumbers.at(-1)!;
    const mediaRoot = path.join(server.dataDir, 'media');
    const [streamDir] = fs.readdirSync(mediaRoot);
    const segDir = path.join(mediaRoot, streamDir!);

    const k: Array<{ mbPerS: number; bytes: number; serverCpuPct: number; clientCpuPct: number }> = [];
    const d: Array<{ mbPerS: number; bytes: number }> = [];
    let incomplete = 0;
    // Warm-up pass of each (JIT, page cache), not counted.
    await readSegments(segDir);
    await getMediaAll(server.url, 'archive', lastFragment);
    const readDisk = async () => {
      const disk = await readSegments(segDir);
      d.push({ mbPerS: disk.bytes / 1e6 / disk.seconds, bytes: disk.bytes });
    };
    const readGetMedia = async () => {
      const before = server.sample();
      const got = await getMediaAll(server.url, 'archive', lastFragment);
      const after = server.sample();
      if (!got.complete) incomplete++;
      k.push({ mbPerS: got.bytes / 1e6 / got.seconds, bytes: got.bytes, serverCpuPct: cpuPercent(before, after), clientCpuPct: got.clientCpuPct });
    };
    for (let r = 0; r < reps; r++) {
      if (r % 2 === 0) {
        await readDisk();
        await readGetMedia();
      } else {
        await readGetMedia();
        await readDisk();
      }
      const got = k.at(-1)!;
      ctx.log(
        `rep ${r}: GetMedia ${got.mbPerS.toFixed(0)} MB/s (${(got.bytes / 1e6).toFixed(0)} MB, server cpu ${got.serverCpuPct.toFixed(0)} %, ` +
          `client cpu ${got.clientCpuPct.toFixed(0)} %), disk ${d.at(-1)!.mbPerS.toFixed(0)} MB/s`,
      );
    }
    const pair = medianPair(
      k.map((x) => x.mbPerS),
      d.map((x) => x.mbPerS),
    );
    return [
      result({
        bench: 'read.getmedia_earliest',
        metric: k[pair.index]!.mbPerS,
        baseline: d[pair.index]!.mbPerS,
        unit: 'MB/s',
        target: { on: 'ratio', op: '>=', value: 0.9 },
        extra: {
          repRatios: pair.ratios,
          storedMB: Math.round(d[0]!.bytes / 1e6),
          getMediaMB: Math.round(k[0]!.bytes / 1e6),
          reps,
          incomplete,
          serverCpuPct: Math.round(median(k.map((x) => x.serverCpuPct))),
          clientCpuPct: Math.round(median(k.map((x) => x.clientCpuPct))),
        },
      }),
    ];
  } finally {
    await server.stop();
  }
}

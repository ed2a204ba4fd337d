/**
 * 5. GetMedia read throughput over archived fragments: one stream is filled with 2 MB
 * fragments, then GetMedia EARLIEST reads them all (done when the last fragment's
 * CONTINUATION_TOKEN has arrived). Baselines: the same stream's segment files read straight
 * from disk with fs.createReadStream in this process (the target is against it), and the same
 * files served by a bare node:http static server (bench/static-child.ts) to the same client
 * read loop, which shows what loopback HTTP alone costs. All read from the page cache (the data
 * was just written; one un-timed warm-up pass of each). Repetitions alternate the order (ABC,
 * then CBA); the repetition with the median ratio is reported, separately for each baseline.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { agent, createStreams, openReader } from './lib/http.ts';
import { SyntheticCamera } from './lib/mkv.ts';
import { cpuPercent, makeDataDir, startChild, type ChildServer } from './lib/procs.ts';
import { median, medianPair, result, type BenchContext, type BenchResult } from './lib/results.ts';
import { upload } from './ingest.ts';

/**
 * The client's per-chunk work, the same for GetMedia and the HTTP baseline: count the bytes and
 * look for `needle` (also across chunk borders); `onSecond` fires at its second sighting.
 */
function chunkScanner(needle: Buffer, onSecond: (at: number) => void) {
  let bytes = 0;
  let seen = 0;
  let tail = Buffer.alloc(0);
  return {
    get bytes() {
      return bytes;
    },
    onChunk(chunk: Buffer, at: number) {
      bytes += chunk.length;
      // Search the chunk plus the previous chunk's last bytes, for a number split across chunks.
      const hay = tail.length ? Buffer.concat([tail, chunk.subarray(0, needle.length)]) : undefined;
      if (hay && hay.indexOf(needle) >= 0) seen++;
      for (let i = chunk.indexOf(needle); i >= 0; i = chunk.indexOf(needle, i + 1)) seen++;
      tail = Buffer.from(chunk.subarray(Math.max(0, chunk.length - needle.length + 1)));
      if (seen === 2) onSecond(at);
    },
  };
}

/** Reads the stream from the first fragment until `lastFragment` has arrived whole. */
async function getMediaAll(
  url: string,
  stream: string,
  lastFragment: string,
): Promise<{ bytes: number; seconds: number; complete: boolean; clientCpuPct: number }> {
  // The number appears twice in the last fragment: in the leading KVS tags and in the trailing
  // CONTINUATION_TOKEN; the second sighting is the end. Random payload cannot match 47 digits.
  let finishedAt = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const scan = chunkScanner(Buffer.from(lastFragment), (at) => {
    finishedAt = at;
    resolveDone();
  });
  const reader = openReader(`${url}/getMedia`, { json: { StreamName: stream, StartSelector: { StartSelectorType: 'EARLIEST' } } }, (c, at) => scan.onChunk(c, at));
  const status = await reader.ready;
  if (status !== 200) throw new Error(`GetMedia HTTP ${status}`);
  await Promise.race([done, reader.done, new Promise((r) => setTimeout(r, 120_000))]);
  const cpu = process.cpuUsage(cpu0);
  reader.close();
  const seconds = ((finishedAt || performance.now()) - t0) / 1000;
  return { bytes: scan.bytes, seconds, complete: finishedAt > 0, clientCpuPct: (cpu.user + cpu.system) / 1e4 / seconds };
}

/** The segment files over loopback HTTP from the bare static server, one GET each, with GetMedia's client loop. */
async function httpSegments(url: string, files: readonly string[], needle: Buffer): Promise<{ bytes: number; seconds: number }> {
  const scan = chunkScanner(needle, () => undefined);
  const t0 = performance.now();
  for (const f of files) {
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${url}/${f}`, { agent }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`static GET ${f}: HTTP ${res.statusCode}`));
          res.on('data', (c: Buffer) => scan.onChunk(c, 0));
          res.on('end', resolve);
          res.on('error', reject);
        })
        .on('error', reject);
    });
  }
  return { bytes: scan.bytes, seconds: (performance.now() - t0) / 1000 };
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
  const reps = ctx.quick ? 2 : 8; // even: as many of each order
  const server: ChildServer = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'read'), { profile: ctx.profile });
  let stat: ChildServer | undefined;
  try {
    await createStreams(server.url, ['archive']);
    ctx.log(`storing ${fragments} × 2 MB fragments`);
    const stored = await upload(server, 'kestrel', ['archive'], cam, fragments);
    if (stored.errors.length) throw new Error(`ingest failed: ${stored.errors.slice(0, 3).join('; ')}`);
    const lastFragment = stored.producers[0]!.persistedNumbers.at(-1)!;
    const mediaRoot = path.join(server.dataDir, 'media');
    const [streamDir] = fs.readdirSync(mediaRoot);
    const segDir = path.join(mediaRoot, streamDir!);
    const segFiles = fs.readdirSync(segDir).filter((f) => f.endsWith('.seg')).sort();
    stat = await startChild('static-child.ts', segDir, { keepData: true });

    const k: Array<{ mbPerS: number; bytes: number; serverCpuPct: number; clientCpuPct: number }> = [];
    const d: Array<{ mbPerS: number; bytes: number }> = [];
    const h: Array<{ mbPerS: number; bytes: number; serverCpuPct: number }> = [];
    let incomplete = 0;
    const readDisk = async () => {
      const disk = await readSegments(segDir);
      d.push({ mbPerS: disk.bytes / 1e6 / disk.seconds, bytes: disk.bytes });
    };
    const readHttp = async () => {
      const before = stat!.sample();
      const got = await httpSegments(stat!.url, segFiles, Buffer.from(lastFragment));
      h.push({ mbPerS: got.bytes / 1e6 / got.seconds, bytes: got.bytes, serverCpuPct: cpuPercent(before, stat!.sample()) });
    };
    const readGetMedia = async () => {
      const before = server.sample();
      const got = await getMediaAll(server.url, 'archive', lastFragment);
      const after = server.sample();
      if (!got.complete) incomplete++;
      k.push({ mbPerS: got.bytes / 1e6 / got.seconds, bytes: got.bytes, serverCpuPct: cpuPercent(before, after), clientCpuPct: got.clientCpuPct });
    };
    // Warm-up pass of each (JIT, page cache), not counted.
    await readSegments(segDir);
    await httpSegments(stat.url, segFiles, Buffer.from(lastFragment));
    await getMediaAll(server.url, 'archive', lastFragment);
    const order = [readDisk, readHttp, readGetMedia];
    for (let r = 0; r < reps; r++) {
      for (const run of r % 2 === 0 ? order : [...order].reverse()) await run();
      const got = k.at(-1)!;
      ctx.log(
        `rep ${r}: GetMedia ${got.mbPerS.toFixed(0)} MB/s (${(got.bytes / 1e6).toFixed(0)} MB, server cpu ${got.serverCpuPct.toFixed(0)} %, ` +
          `client cpu ${got.clientCpuPct.toFixed(0)} %), disk ${d.at(-1)!.mbPerS.toFixed(0)} MB/s, ` +
          `bare HTTP ${h.at(-1)!.mbPerS.toFixed(0)} MB/s (server cpu ${h.at(-1)!.serverCpuPct.toFixed(0)} %)`,
      );
    }
    const kRates = k.map((x) => x.mbPerS);
    const vsDisk = medianPair(kRates, d.map((x) => x.mbPerS));
    const vsHttp = medianPair(kRates, h.map((x) => x.mbPerS));
    const common = {
      storedMB: Math.round(d[0]!.bytes / 1e6),
      getMediaMB: Math.round(k[0]!.bytes / 1e6),
      reps,
      incomplete,
      serverCpuPct: Math.round(median(k.map((x) => x.serverCpuPct))),
      clientCpuPct: Math.round(median(k.map((x) => x.clientCpuPct))),
    };
    return [
      result({
        bench: 'read.getmedia_earliest',
        metric: k[vsDisk.index]!.mbPerS,
        baseline: d[vsDisk.index]!.mbPerS,
        unit: 'MB/s',
        target: { on: 'ratio', op: '>=', value: 0.9 },
        extra: { repRatios: vsDisk.ratios, ...common },
      }),
      result({
        bench: 'read.getmedia_earliest.vs_http',
        metric: k[vsHttp.index]!.mbPerS,
        baseline: h[vsHttp.index]!.mbPerS,
        unit: 'MB/s',
        extra: { repRatios: vsHttp.ratios, staticServerCpuPct: Math.round(median(h.map((x) => x.serverCpuPct))), ...common },
      }),
    ];
  } finally {
    await stat?.stop();
    await server.stop();
  }
}

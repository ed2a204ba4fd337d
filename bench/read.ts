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
import { makeDataDir, startChild, type ChildServer } from './lib/procs.ts';
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
): Promise<{ bytes: number; seconds: number; complete: boolean }> {
  // The number appears twice in the last fragment: in the leading KVS tags and in the trailing
  // CONTINUATION_TOKEN; the second sighting is the end. Random payload cannot match 47 digits.
  let finishedAt = 0;
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
  reader.close();
  const seconds = ((finishedAt || performance.now()) - t0) / 1000;
  return { bytes: scan.bytes, seconds, complete: finishedAt > 0 };
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

    /** One timed read: MB/s, and CPU ms per MB of this process (client) and of the serving child. */
    interface Measure {
      mbPerS: number;
      bytes: number;
      clientMsPerMB: number;
      serverMsPerMB: number;
    }
    const measure = async (child: ChildServer | undefined, read: () => Promise<{ bytes: number; seconds: number }>): Promise<Measure> => {
      const s0 = child?.sample();
      const c0 = process.cpuUsage();
      const got = await read();
      const c = process.cpuUsage(c0);
      const s1 = child?.sample();
      const mb = got.bytes / 1e6;
      return {
        mbPerS: mb / got.seconds,
        bytes: got.bytes,
        clientMsPerMB: (c.user + c.system) / 1000 / mb,
        serverMsPerMB: s0 && s1 ? (((s1.cpuTicks - s0.cpuTicks) / 100) * 1000) / mb : 0,
      };
    };
    const k: Measure[] = [];
    const d: Measure[] = [];
    const h: Measure[] = [];
    let incomplete = 0;
    const readDisk = async () => void d.push(await measure(undefined, () => readSegments(segDir)));
    const readHttp = async () => void h.push(await measure(stat, () => httpSegments(stat!.url, segFiles, Buffer.from(lastFragment))));
    const readGetMedia = async () =>
      void k.push(
        await measure(server, async () => {
          const got = await getMediaAll(server.url, 'archive', lastFragment);
          if (!got.complete) incomplete++;
          return got;
        }),
      );
    // Warm-up pass of each (JIT, page cache), not counted.
    await readSegments(segDir);
    await httpSegments(stat.url, segFiles, Buffer.from(lastFragment));
    await getMediaAll(server.url, 'archive', lastFragment);
    const order = [readDisk, readHttp, readGetMedia];
    const cpu = (m: Measure) => `cpu ${m.serverMsPerMB ? `${m.serverMsPerMB.toFixed(2)} server + ` : ''}${m.clientMsPerMB.toFixed(2)} client ms/MB`;
    for (let r = 0; r < reps; r++) {
      for (const run of r % 2 === 0 ? order : [...order].reverse()) await run();
      const [got, disk, bare] = [k.at(-1)!, d.at(-1)!, h.at(-1)!];
      ctx.log(
        `rep ${r}: GetMedia ${got.mbPerS.toFixed(0)} MB/s (${(got.bytes / 1e6).toFixed(0)} MB, ${cpu(got)}), ` +
          `disk ${disk.mbPerS.toFixed(0)} MB/s (${cpu(disk)}), bare HTTP ${bare.mbPerS.toFixed(0)} MB/s (${cpu(bare)})`,
      );
    }
    const kRates = k.map((x) => x.mbPerS);
    const vsDisk = medianPair(kRates, d.map((x) => x.mbPerS));
    const vsHttp = medianPair(kRates, h.map((x) => x.mbPerS));
    const ms = (xs: Measure[], key: 'clientMsPerMB' | 'serverMsPerMB') => Number(median(xs.map((x) => x[key])).toFixed(2));
    const common = {
      storedMB: Math.round(d[0]!.bytes / 1e6),
      getMediaMB: Math.round(k[0]!.bytes / 1e6),
      reps,
      incomplete,
      // CPU per MB read (medians), load-independent where the MB/s figures are not.
      cpuMsPerMB: {
        getMediaServer: ms(k, 'serverMsPerMB'),
        getMediaClient: ms(k, 'clientMsPerMB'),
        disk: ms(d, 'clientMsPerMB'),
        bareHttpServer: ms(h, 'serverMsPerMB'),
        bareHttpClient: ms(h, 'clientMsPerMB'),
      },
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
        extra: { repRatios: vsHttp.ratios, ...common },
      }),
    ];
  } finally {
    await stat?.stop();
    await server.stop();
  }
}

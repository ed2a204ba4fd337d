/**
 * 8. GetClip throughput: one stream is filled with ~94 MB of real H.264 fragments (testsrc2
 * 1280x720, 25 fps, 1 s GOP, 8 Mbit/s: ≈ 1 MB per fragment, 90 fragments, under GetClip's
 * 200-fragment / 100 MiB limits), then GetClip over the whole range is read to the end: every
 * fragment is read from disk, demuxed and packaged as fMP4 on the fly. MB/s = clip bytes
 * received / time from request sent to last byte. Baseline: the stream's segment files read
 * straight from disk with fs.createReadStream (the same fragment bytes). Both from the page
 * cache (the data was just written; one un-timed warm-up pass of each). Repetitions alternate the
 * order (disk then GetClip, then GetClip then disk); the repetition with the median ratio is reported.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { agent, createStreams } from './lib/http.ts';
import { encodeClip, loadClip, uploadFragments } from './lib/h264.ts';
import { cpuPercent, makeDataDir, startChild, type ChildServer } from './lib/procs.ts';
import { median, medianPair, result, type BenchContext, type BenchResult } from './lib/results.ts';
import { sign } from './lib/auth.ts';

interface ClipRead {
  bytes: number;
  seconds: number;
  status: number;
  firstByteMs: number;
  serverCpuPct: number;
  clientCpuPct: number;
}

async function getClip(server: ChildServer, stream: string, startMs: number, endMs: number): Promise<ClipRead> {
  const body = Buffer.from(
    JSON.stringify({
      StreamName: stream,
      ClipFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: startMs / 1000, EndTimestamp: endMs / 1000 } },
    }),
  );
  const before = server.sample();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let firstByteMs = 0;
  const { status, bytes } = await new Promise<{ status: number; bytes: number }>((resolve, reject) => {
    const req = http.request(`${server.url}/getClip`, { method: 'POST', agent, headers: { ...sign('POST', `${server.url}/getClip`, { 'content-type': 'application/json' }, Buffer.from(body)), 'content-length': body.length } }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => {
        if (n === 0) firstByteMs = performance.now() - t0;
        n += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes: n }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { bytes, seconds, status, firstByteMs, serverCpuPct: cpuPercent(before, server.sample()), clientCpuPct: (cpu.user + cpu.system) / 1e4 / seconds };
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

export async function clipBench(ctx: BenchContext): Promise<BenchResult[]> {
  const fragments = ctx.quick ? 30 : 90;
  const reps = ctx.quick ? 2 : 4; // even: as many of each order
  const clip = loadClip(await encodeClip(ctx.tmpRoot, { size: '1280x720', fps: 25, gop: 25, seconds: 10, bitrate: '8M' }));
  const server = await startChild('server-child.ts', makeDataDir(ctx.tmpRoot, 'clip'), { profile: ctx.profile });
  try {
    await createStreams(server.url, ['clip']);
    const from = Date.now() - 1000;
    const p = await uploadFragments(server.url, 'clip', clip, fragments);
    const errors = [...p.errors, ...p.errorAcks.map((a) => `ERROR ACK ${a.ErrorCode}`)];
    if (errors.length || p.persistedAt.length !== fragments) throw new Error(`ingest: ${p.persistedAt.length}/${fragments} PERSISTED ${errors.slice(0, 3).join('; ')}`);
    const to = Date.now();
    const mediaRoot = path.join(server.dataDir, 'media');
    const [streamDir] = fs.readdirSync(mediaRoot);
    const segDir = path.join(mediaRoot, streamDir!);
    ctx.log(`stored ${fragments} fragments (${(p.bytesSent / 1e6).toFixed(0)} MB sent, ~${(p.bytesSent / fragments / 1e6).toFixed(2)} MB each)`);

    // Warm-up pass of each (JIT, page cache), not counted.
    await readSegments(segDir);
    const warm = await getClip(server, 'clip', from, to);
    if (warm.status !== 200) throw new Error(`GetClip HTTP ${warm.status}`);
    const k: ClipRead[] = [];
    const d: Array<{ mbPerS: number; bytes: number }> = [];
    const readDisk = async () => {
      const disk = await readSegments(segDir);
      d.push({ mbPerS: disk.bytes / 1e6 / disk.seconds, bytes: disk.bytes });
      return disk;
    };
    for (let r = 0; r < reps; r++) {
      let disk: { bytes: number };
      let got: ClipRead;
      if (r % 2 === 0) {
        disk = await readDisk();
        got = await getClip(server, 'clip', from, to);
      } else {
        got = await getClip(server, 'clip', from, to);
        disk = await readDisk();
      }
      k.push(got);
      ctx.log(
        `rep ${r}: GetClip ${(got.bytes / 1e6 / got.seconds).toFixed(0)} MB/s (${(got.bytes / 1e6).toFixed(1)} MB in ${got.seconds.toFixed(2)} s, first byte ${got.firstByteMs.toFixed(0)} ms, ` +
          `server cpu ${got.serverCpuPct.toFixed(0)} %, client cpu ${got.clientCpuPct.toFixed(0)} %), disk ${d.at(-1)!.mbPerS.toFixed(0)} MB/s (${(disk.bytes / 1e6).toFixed(1)} MB)`,
      );
    }
    const mbPerS = k.map((x) => x.bytes / 1e6 / x.seconds);
    const pair = medianPair(
      mbPerS,
      d.map((x) => x.mbPerS),
    );
    return [
      result({
        bench: 'clip.getclip',
        metric: mbPerS[pair.index]!,
        baseline: d[pair.index]!.mbPerS,
        unit: 'MB/s',
        extra: {
          repRatios: pair.ratios,
          fragments,
          storedMB: Math.round(d[0]!.bytes / 1e5) / 10,
          clipMB: Math.round(k[0]!.bytes / 1e5) / 10,
          reps,
          statuses: [...new Set(k.map((x) => x.status))],
          firstByteMs: Math.round(median(k.map((x) => x.firstByteMs))),
          serverCpuPct: Math.round(median(k.map((x) => x.serverCpuPct))),
          clientCpuPct: Math.round(median(k.map((x) => x.clientCpuPct))),
          allRepsMBps: mbPerS.map((x) => Math.round(x)),
        },
      }),
    ];
  } finally {
    await server.stop();
  }
}

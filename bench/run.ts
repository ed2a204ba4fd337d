/**
 * Kestrel benchmarks. `npm run bench` runs all; `npm run bench -- ingest tail` runs some;
 * `--quick` shortens every one to a smoke run; `--profile` runs the Kestrel child under
 * `node --cpu-prof` (profiles in bench/profiles/); `--tmp=DIR` puts data dirs under DIR;
 * `--cameras N` sets the camera count of the `cameras` bench (default 200).
 * One JSON line per result on stdout; progress and the table on stderr.
 * Each figure is compared with a baseline measured in the same run: targets are not assertions.
 */
import os from 'node:os';
import { authBench } from './auth.ts';
import { busTailBench, edgeTailBench } from './bus-tail.ts';
import { camerasBench } from './cameras.ts';
import { clipBench } from './clip.ts';
import { detectAlertBench } from './detect-alert.ts';
import { detectStreamsBench } from './detect-streams.ts';
import { detectThroughputBench } from './detect-throughput.ts';
import { glassBench } from './glass.ts';
import { ingestBench } from './ingest.ts';
import { latencyBench } from './latency.ts';
import { persistBench } from './persist.ts';
import { mediaS3Bench } from './media-s3.ts';
import { readBench } from './read.ts';
import { segmentsBench } from './segments.ts';
import { slowlorisBench } from './slowloris.ts';
import { formatTable, type Bench, type BenchResult } from './lib/results.ts';
import { tailBench } from './tail.ts';

const BENCHES: Record<string, Bench> = {
  ingest: ingestBench,
  cameras: camerasBench,
  persist: persistBench,
  'media-s3': mediaS3Bench,
  tail: tailBench,
  'bus-tail': busTailBench,
  'edge-tail': edgeTailBench,
  read: readBench,
  latency: latencyBench,
  glass: glassBench,
  segments: segmentsBench,
  clip: clipBench,
  'detect-throughput': detectThroughputBench,
  'detect-alert-latency': detectAlertBench,
  'detect-streams': detectStreamsBench,
  auth: authBench,
  slowloris: slowlorisBench,
};

const FLAGS = ['--quick', '--profile', '--tmp', '--cameras', '--help'];
/** Flags that take a value, as `--flag=V` or `--flag V`. */
const VALUE_FLAGS = new Set(['--tmp', '--cameras']);
const args = process.argv.slice(2);
const flags = new Set<string>();
const values = new Map<string, string>();
const names: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (!a.startsWith('--')) {
    names.push(a);
    continue;
  }
  const eq = a.indexOf('=');
  const flag = eq < 0 ? a : a.slice(0, eq);
  flags.add(flag);
  if (VALUE_FLAGS.has(flag)) values.set(flag, eq < 0 ? (args[++i] ?? '') : a.slice(eq + 1));
}
const cameras = values.has('--cameras') ? Number(values.get('--cameras')) : undefined;
const problems = [
  ...names.filter((n) => !(n in BENCHES)).map((n) => `unknown benchmark ${n}`),
  ...[...flags].filter((f) => !FLAGS.includes(f)).map((f) => `unknown flag ${f}`),
  ...(cameras !== undefined && !(Number.isInteger(cameras) && cameras > 0) ? [`--cameras takes a positive whole number, got '${values.get('--cameras')}'`] : []),
  ...(values.get('--tmp') === '' ? ['--tmp takes a directory'] : []),
];
if (problems.length || flags.has('--help')) {
  for (const p of problems) process.stderr.write(`${p}\n`);
  process.stderr.write(`usage: npm run bench -- [${Object.keys(BENCHES).join('|')} ...] [--quick] [--profile] [--tmp=DIR] [--cameras N]\n`);
  process.exit(problems.length ? 2 : 0);
}
const selected = names.length ? names : Object.keys(BENCHES);
const tmpRoot = values.get('--tmp') ?? os.tmpdir();
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)}s`.padStart(5);
const ctx = {
  quick: flags.has('--quick'),
  profile: flags.has('--profile'),
  tmpRoot,
  ...(cameras !== undefined ? { cameras } : {}),
  log: (msg: string) => process.stderr.write(`[${elapsed()}] ${msg}\n`),
};

ctx.log(`kestrel bench: ${selected.join(', ')}${ctx.quick ? ' (quick)' : ''}; ${os.cpus().length} cores, node ${process.version}, data under ${tmpRoot}`);
const results: BenchResult[] = [];
let failed = false;
for (const name of selected) {
  // Other work on the machine skews every figure: record how busy it was when each bench began.
  const loadAvg1 = Number(os.loadavg()[0]!.toFixed(2));
  ctx.log(`--- ${name} (load average ${loadAvg1})`);
  try {
    for (const r of await BENCHES[name]!(ctx)) {
      r.extra = { ...r.extra, loadAvg1 };
      results.push(r);
      process.stdout.write(JSON.stringify(r) + '\n');
    }
  } catch (err) {
    failed = true;
    ctx.log(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
}
process.stderr.write(`\n${formatTable(results)}\n\ntotal ${elapsed().trim()}, load average now ${os.loadavg()[0]!.toFixed(2)}\n`);
process.exit(failed ? 1 : 0);

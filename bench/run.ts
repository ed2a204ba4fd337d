/**
 * Kestrel benchmarks. `npm run bench` runs all; `npm run bench -- ingest tail` runs some;
 * `--quick` shortens every one to a smoke run; `--profile` runs the Kestrel child under
 * `node --cpu-prof` (profiles in bench/profiles/); `--tmp=DIR` puts data dirs under DIR.
 * One JSON line per result on stdout; progress and the table on stderr.
 * Each figure is compared with a baseline measured in the same run: targets are not assertions.
 */
import os from 'node:os';
import { camerasBench } from './cameras.ts';
import { clipBench } from './clip.ts';
import { detectAlertBench } from './detect-alert.ts';
import { detectStreamsBench } from './detect-streams.ts';
import { detectThroughputBench } from './detect-throughput.ts';
import { glassBench } from './glass.ts';
import { ingestBench } from './ingest.ts';
import { latencyBench } from './latency.ts';
import { persistBench } from './persist.ts';
import { readBench } from './read.ts';
import { segmentsBench } from './segments.ts';
import { formatTable, type Bench, type BenchResult } from './lib/results.ts';
import { tailBench } from './tail.ts';

const BENCHES: Record<string, Bench> = {
  ingest: ingestBench,
  cameras: camerasBench,
  persist: persistBench,
  tail: tailBench,
  read: readBench,
  latency: latencyBench,
  glass: glassBench,
  segments: segmentsBench,
  clip: clipBench,
  'detect-throughput': detectThroughputBench,
  'detect-alert-latency': detectAlertBench,
  'detect-streams': detectStreamsBench,
};

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]));
const unknown = args.filter((a) => !a.startsWith('--') && !(a in BENCHES));
if (unknown.length || flags.has('--help')) {
  process.stderr.write(`usage: npm run bench -- [${Object.keys(BENCHES).join('|')} ...] [--quick] [--profile] [--tmp=DIR]\n`);
  process.exit(unknown.length ? 2 : 0);
}
const names = args.filter((a) => !a.startsWith('--'));
const selected = names.length ? names : Object.keys(BENCHES);
const tmpRoot = args.find((a) => a.startsWith('--tmp='))?.slice('--tmp='.length) ?? os.tmpdir();
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)}s`.padStart(5);
const ctx = {
  quick: flags.has('--quick'),
  profile: flags.has('--profile'),
  tmpRoot,
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

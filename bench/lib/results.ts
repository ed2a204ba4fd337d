/** Result lines, percentiles and the human table. A target is a reading aid, never an assertion. */

export interface Target {
  /** What the target applies to: the figure itself or figure/baseline. */
  on: 'metric' | 'ratio';
  op: '>=' | '<=' | '<' | '=';
  value: number;
}

export interface BenchResult {
  bench: string;
  metric: number;
  baseline: number | null;
  ratio: number | null;
  target: string;
  unit: string;
  met: boolean | null;
  /** Context for the reader: server CPU/RSS, sample counts, what the baseline was. */
  extra?: Record<string, unknown>;
}

export interface BenchContext {
  quick: boolean;
  /** Run the Kestrel server child under `node --cpu-prof` (profiles land in bench/profiles/). */
  profile: boolean;
  /** Parent folder for data dirs (default: os.tmpdir(), which must be a local disk for the latency targets). */
  tmpRoot: string;
  /** Camera count for the `cameras` bench (`--cameras N`); its default when absent. */
  cameras?: number;
  log(msg: string): void;
}

export type Bench = (ctx: BenchContext) => Promise<BenchResult[]>;

const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

export function result(opts: {
  bench: string;
  metric: number;
  baseline?: number | null;
  unit: string;
  target?: Target;
  extra?: Record<string, unknown>;
}): BenchResult {
  const baseline = opts.baseline ?? null;
  const ratio = baseline !== null && baseline !== 0 && Number.isFinite(baseline) ? round(opts.metric / baseline) : null;
  const t = opts.target;
  let met: boolean | null = null;
  if (t) {
    const v = t.on === 'ratio' ? ratio : opts.metric;
    if (v !== null) met = compare(v, t.op, t.value);
  }
  return {
    bench: opts.bench,
    metric: round(opts.metric),
    baseline: baseline === null ? null : round(baseline),
    ratio,
    target: t ? `${t.on === 'ratio' ? 'ratio ' : ''}${t.op} ${t.value}` : 'report',
    unit: opts.unit,
    met,
    ...(opts.extra ? { extra: opts.extra } : {}),
  };
}

function compare(v: number, op: Target['op'], x: number): boolean {
  switch (op) {
    case '>=':
      return v >= x;
    case '<=':
      return v <= x;
    case '<':
      return v < x;
    case '=':
      return v === x;
  }
}

/** Nearest-rank percentile (p in 0..100) of an unsorted sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/**
 * Paired repetitions (metric[i] and baseline[i] ran back to back): the ratio of each pair and the
 * index of the pair whose ratio is the median (nearest rank, so a real pair, never an average).
 */
export function medianPair(metric: readonly number[], baseline: readonly number[]): { index: number; ratios: number[] } {
  const ratios = metric.map((m, i) => Number((m / baseline[i]!).toFixed(3)));
  return { index: ratios.indexOf(median(ratios)), ratios };
}

export function formatTable(results: readonly BenchResult[]): string {
  const head = ['bench', 'figure', 'baseline', 'ratio', 'target', 'unit', 'met'];
  const rows = results.map((r) => [
    r.bench,
    fmt(r.metric),
    r.baseline === null ? '-' : fmt(r.baseline),
    r.ratio === null ? '-' : r.ratio.toFixed(2),
    r.target,
    r.unit,
    r.met === null ? '-' : r.met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 5 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function fmt(n: number): string {
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** Math.max/min without spreading (large samples overflow the call stack). */
export const max = (values: readonly number[]): number => values.reduce((a, b) => (b > a ? b : a), Number.NEGATIVE_INFINITY);
export const min = (values: readonly number[]): number => values.reduce((a, b) => (b < a ? b : a), Number.POSITIVE_INFINITY);
export const mean = (values: readonly number[]): number => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN);

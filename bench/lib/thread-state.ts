/**
 * Samples the scheduler state of a process's main thread (/proc/<pid>/task/<pid>/stat) to tell
 * why a server is slow when its CPU use is not high: R = running or waiting for a CPU,
 * S = idle (waiting for events), D = blocked in the kernel (disk I/O, fsync).
 */
import fs from 'node:fs';

export interface ThreadStates {
  samples: number;
  /** Share of samples per state letter, in %. */
  pct: Record<string, number>;
}

export function sampleThreadStates(pid: number, everyMs = 10): { stop(): ThreadStates } {
  const counts = new Map<string, number>();
  let samples = 0;
  const file = `/proc/${pid}/task/${pid}/stat`;
  const timer = setInterval(() => {
    try {
      const stat = fs.readFileSync(file, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      counts.set(state, (counts.get(state) ?? 0) + 1);
      samples++;
    } catch {
      // The process is gone.
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const pct: Record<string, number> = {};
      for (const [k, v] of counts) pct[k] = Math.round((v / Math.max(1, samples)) * 100);
      return { samples, pct };
    },
  };
}

/**
 * Server processes under test run as children so the load generator (this process) does not
 * compete with them on one event loop; their CPU and memory are read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64

export interface ProcSample {
  at: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  rssMB: number;
  /** Peak RSS since the process started (VmHWM). */
  hwmMB: number;
}

export function sampleProc(pid: number): ProcSample {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { at: performance.now(), cpuTicks, rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
}

/** CPU use between two samples, in % of one core (200 % = both cores of this machine). */
export function cpuPercent(a: ProcSample, b: ProcSample): number {
  const seconds = (b.at - a.at) / 1000;
  return seconds > 0 ? ((b.cpuTicks - a.cpuTicks) / CLK_TCK / seconds) * 100 : 0;
}

export interface ChildServer {
  url: string;
  pid: number;
  dataDir: string;
  sample(): ProcSample;
  stop(): Promise<void>;
}

export function makeDataDir(root: string, label: string): string {
  return fs.mkdtempSync(path.join(root || os.tmpdir(), `kestrel-bench-${label}-`));
}

/**
 * Starts `bench/<script>` under tsx with `dataDir` as its argument and waits for the JSON line
 * `{"url": ...}` it prints when listening. stop() sends SIGTERM (graceful close, which is also
 * when a --cpu-prof profile is written) and removes the data dir.
 */
export async function startChild(script: string, dataDir: string, opts: { profile?: boolean; keepData?: boolean; args?: string[]; env?: Record<string, string> } = {}): Promise<ChildServer> {
  const nodeArgs = ['--import', 'tsx'];
  if (opts.profile) {
    const dir = path.join(BENCH_DIR, 'profiles');
    fs.mkdirSync(dir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  const child = spawn(process.execPath, [...nodeArgs, path.join(BENCH_DIR, script), dataDir, ...(opts.args ?? [])], {
    cwd: path.dirname(BENCH_DIR),
    stdio: ['ignore', 'pipe', 'inherit'],
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  });
  const url = await readUrl(child, script);
  const pid = child.pid!;
  return {
    url,
    pid,
    dataDir,
    sample: () => sampleProc(pid),
    stop: async () => {
      await stopChild(child);
      if (!opts.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function readUrl(child: ChildProcess, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not report its URL within 20 s`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve((JSON.parse(buf.slice(0, nl)) as { url: string }).url);
      } catch (err) {
        reject(err);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before listening`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

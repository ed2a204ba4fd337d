/**
 * `kestrel analyze` end to end: a real `kestrel serve` child process (CenterNet loaded on the first job),
 * the people fixture pushed, then the CLI as another child process: progress lines on stderr (not a
 * TTY: one per 10 %), report.json / report.csv written and parseable, clear failures.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, type JobReport } from '../../src/jobs/report.ts';
import { spawnServer, type ServerProcess } from '../support/server-process.ts';
import { PEOPLE_MKV, createStreams, pushMkv } from '../support/analyze-helpers.ts';
import { testAuthEnv } from '../support/auth.ts';

const BIN = path.resolve('bin/kestrel.js');
let server: ServerProcess;
let dir: string;
let t0: number;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'analyze', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...testAuthEnv, KESTREL_ENDPOINT: server.url } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-cli-analyze-'));
  server = await spawnServer(['--port', '0', '--data', path.join(dir, 'data')]);
  await createStreams(server.url, 'cam');
  t0 = Date.now() - 30_000;
  await pushMkv(server.url, 'cam', fs.readFileSync(PEOPLE_MKV), t0);
}, 60_000);

afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('kestrel analyze', () => {
  it('creates a job, shows progress, writes report.json; re-attaches with --job for report.csv', async () => {
    const json = path.join(dir, 'report.json');
    const run = await cli(['--stream', 'cam', '--start', String(t0 - 1000), '--end', new Date(t0 + 10_000).toISOString(), '--fps', '2', '--out', json]);
    expect(run.code, run.stderr).toBe(0);
    const id = /job ([0-9a-f-]{36}) \(cam\) created/.exec(run.stderr)?.[1];
    expect(id).toBeTruthy();
    const progress = run.stderr.split('\n').filter((l) => l.startsWith('['));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toMatch(/100\.0%\s+\d+\/\d+ fragments\s+\d+ frames\s+succeeded$/);
    expect(run.stderr).toContain(`report written to ${json}`);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as JobReport;
    expect(report.job.id).toBe(id);
    expect(report.job.status).toBe('succeeded');
    expect(report.frames.length).toBeGreaterThan(3);
    expect(report.events.length).toBeGreaterThan(0);

    const csvFile = path.join(dir, 'report.csv');
    const again = await cli(['--job', id!, '--out', csvFile]);
    expect(again.code, again.stderr).toBe(0);
    const rows = parseCsv(fs.readFileSync(csvFile, 'utf8'));
    expect(rows[0]![0]).toBe('kind');
    expect(rows.filter((r) => r[0] === 'event')).toHaveLength(report.events.length);
    expect(rows.filter((r) => r[0] === 'frame').length).toBeGreaterThanOrEqual(report.frames.length);

    // No --out: the JSON report on stdout.
    const stdout = await cli(['--job', id!]);
    expect(stdout.code).toBe(0);
    expect((JSON.parse(stdout.stdout) as JobReport).job.id).toBe(id);
  }, 180_000);

  it('fails clearly: unknown stream (1), missing flags (2), unreachable server (1)', async () => {
    const unknown = await cli(['--stream', 'nope', '--start', '0', '--end', '1000']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/kestrel analyze: .*404 stream nope not found/);
    const usage = await cli(['--start', '0', '--end', '1000']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--stream is required');
    const down = await cli(['--stream', 'cam', '--start', '0', '--end', '1000', '--endpoint', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  }, 60_000);
});

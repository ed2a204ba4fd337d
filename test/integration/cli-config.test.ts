/**
 * `kestrel serve` as a process: a mistyped flag or config key exits 2 with a "did you mean" hint
 * (it used to start silently without the option); a config file sets options that flags override.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer } from '../support/server-process.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kestrel.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-cli-config-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KESTREL_')));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('kestrel serve: unknown flags and config keys', () => {
  it('a mistyped flag exits 2 with a hint instead of starting without it', async () => {
    const r = await run(['serve', '--port', '0', '--data', path.join(dir, 'never'), '--webhok-url', 'http://127.0.0.1:9/hook']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('kestrel serve: unknown flag --webhok-url (did you mean --webhook-url?)');
    expect(r.stderr).toContain('Usage: kestrel serve');
    expect(r.stdout).not.toMatch(/listening/);
    expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
  }, 30_000);

  it('every command rejects unknown flags', async () => {
    const results = await Promise.all([
      run(['push', 'x.mkv', '--stream', 's', '--endpiont', 'http://127.0.0.1:9']),
      run(['ingest', 'rtsp://x', '--stream', 's', '--creat']),
      run(['worker', '--endpoint', 'http://127.0.0.1:9', '--state-dri', dir]),
      run(['analyze', '--stream', 's', '--fsp', '2']),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(results[0]!.stderr).toContain('kestrel push: unknown flag --endpiont (did you mean --endpoint?)');
    expect(results[1]!.stderr).toContain('kestrel ingest: unknown flag --creat (did you mean --create?)');
    expect(results[2]!.stderr).toContain('kestrel worker: unknown flag --state-dri (did you mean --state-dir?)');
    expect(results[3]!.stderr).toContain('kestrel analyze: unknown flag --fsp (did you mean --fps?)');
  }, 30_000);

  it('a mistyped config key exits 2 naming the file, the key and the fix', async () => {
    const file = path.join(dir, 'typo.yaml');
    fs.writeFileSync(file, 'port: 0\nwebhok_url: http://127.0.0.1:9/hook\n');
    const r = await run(['serve', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`kestrel serve: ${file}: unknown key "webhok_url" (did you mean webhookUrl?)`);
  }, 30_000);
});

describe('kestrel serve --config', () => {
  it('takes its options from the file; flags override it', async () => {
    const file = path.join(dir, 'kestrel.yaml');
    fs.writeFileSync(file, ['host: 127.0.0.1', 'port: 1', `data: ${path.join(dir, 'from-file')}`, 'metricsToken: from-the-file', 'logLevel: info', ''].join('\n'));
    // --port overrides the file's port 1 (which would need root).
    const server = await spawnServer(['--config', file, '--port', '0']);
    try {
      expect(fs.existsSync(path.join(dir, 'from-file', 'index.sqlite'))).toBe(true);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer from-the-file' } });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('kestrel_ingest_fragments_total');
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
  }, 60_000);
});

/**
 * `kestrel serve --detect` as a process: real CenterNet model, logs that detection runs, answers the
 * per-stream config API, exits 0 on SIGTERM; a bad flag value exits 2 with a usage message.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signedFetch, testAuthEnv } from '../support/auth.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-detect-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KESTREL_') && !k.startsWith('AWS_')));

function run(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['bin/kestrel.js', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => out, err: () => err };
}

describe('kestrel serve --detect (process)', () => {
  it('runs detection, serves the config API, exits 0 on SIGTERM', async () => {
    const configFile = path.join(dir, 'detect.json');
    fs.writeFileSync(configFile, JSON.stringify({ defaults: { sampling: 1 } }));
    const p = run(['serve', '--detect', '--port', '0', '--data', path.join(dir, 'data'), '--snapshots', path.join(dir, 'snaps')], {
      ...cleanEnv(), ...testAuthEnv, KESTREL_DETECT_CONFIG: configFile, KESTREL_LOG_LEVEL: 'info',
    });
    try {
      const deadline = Date.now() + 60_000;
      while (!/Kestrel listening on (http:\/\/[^"\s]+)/.test(p.out())) {
        if (Date.now() > deadline) throw new Error(`no listening line; stdout: ${p.out()} stderr: ${p.err()}`);
        const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('wait'), 100))]);
        if (code !== 'wait') throw new Error(`exited with ${String(code)}: ${p.err()}`);
      }
      expect(p.out()).toMatch(/detection running on every stream/);
      const url = /Kestrel listening on (http:\/\/[^"\s]+)/.exec(p.out())![1]!;
      const res = await signedFetch(`${url}/api/v1/streams/none/detection`);
      expect(res.status).toBe(404);
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  }, 90_000);

  it('a bad flag value exits 2 with a usage message', async () => {
    const p = run(['serve', '--detect', '--port', '0', '--data', path.join(dir, 'data2'), '--mqtt-url', 'not a url'], cleanEnv());
    expect(await p.exited).toBe(2);
    expect(p.err()).toMatch(/kestrel serve: --mqtt-url must be a URL/);
    expect(p.err()).toMatch(/Usage: kestrel serve/);
    const w = run(['worker'], cleanEnv());
    expect(await w.exited).toBe(2);
    expect(w.err()).toMatch(/kestrel worker: --endpoint URL is required/);
  }, 60_000);
});

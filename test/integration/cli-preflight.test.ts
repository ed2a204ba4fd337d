/**
 * Commands that need ffmpeg say once, clearly, that it is missing or too old — with the install
 * hint — and exit non-zero: `kestrel ingest` (no reconnect loop), `kestrel push` (no raw spawn
 * error) and `kestrel serve --detect` (before listening). KESTREL_FFMPEG points them at the binary.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testAuthEnv } from '../support/auth.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kestrel.js');
let dir: string;
let oldFfmpeg: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-preflight-'));
  // An ffmpeg 4 stand-in: only its -version output matters to the preflight.
  oldFfmpeg = path.join(dir, 'ffmpeg-4');
  fs.writeFileSync(oldFfmpeg, '#!/bin/sh\necho "ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers"\n', { mode: 0o755 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function runCli(args: string[], ffmpeg: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    // With credentials: without them the commands stop at the credentials check, before the preflight.
    const env = { ...process.env, ...testAuthEnv, KESTREL_FFMPEG: ffmpeg, KESTREL_ENDPOINT: 'http://127.0.0.1:9' };
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // A retry loop would never exit on its own: end it so the assertions report it.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stderr, stdout });
    });
  });
}

const hints = (s: string) => s.split('apt-get install ffmpeg').length - 1;

describe('ffmpeg preflight', () => {
  const missing = () => path.join(dir, 'no-such-ffmpeg');

  it('kestrel ingest: missing ffmpeg → one message with the install hint, exit 1, no retries', async () => {
    const r = await runCli(['ingest', 'rtsp://127.0.0.1:9/cam', '--stream', 'cam'], missing());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ffmpeg was not found (looked for "${missing()}"`);
    expect(hints(r.stderr)).toBe(1);
    expect(r.stderr).not.toMatch(/ENOENT|retry|reconnect/i);
  }, 90_000);

  it('kestrel push: missing ffmpeg → the same message instead of a raw spawn error', async () => {
    const file = path.join(dir, 'clip.mkv');
    fs.writeFileSync(file, Buffer.alloc(16));
    const r = await runCli(['push', file, '--stream', 'cam'], missing());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ffmpeg was not found');
    expect(hints(r.stderr)).toBe(1);
    expect(r.stderr).not.toContain('spawn');
  }, 90_000);

  it('kestrel serve --detect: missing ffmpeg → exits 1 before listening', async () => {
    const r = await runCli(['serve', '--detect', '--port', '0', '--data', path.join(dir, 'data')], missing());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ffmpeg was not found');
    expect(hints(r.stderr)).toBe(1);
    expect(r.stdout + r.stderr).not.toContain('listening');
  }, 90_000);

  it('too old an ffmpeg: names its version and the minimum', async () => {
    for (const args of [['ingest', 'rtsp://127.0.0.1:9/cam', '--stream', 'cam'], ['serve', '--detect', '--port', '0', '--data', path.join(dir, 'data2')]]) {
      const r = await runCli(args, oldFfmpeg);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('is version 4.4.2-0ubuntu0.22.04.1; Kestrel needs 5.0 or newer');
      expect(hints(r.stderr)).toBe(1);
    }
  }, 120_000);
});

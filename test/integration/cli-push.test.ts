/** `kestrel push` as a user runs it: the real CLI in a child process against a real server. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { KinesisVideoArchivedMediaClient, ListFragmentsCommand, type Fragment } from '@aws-sdk/client-kinesis-video-archived-media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoPackets } from '../../src/media-tools/ffmpeg.ts';
import { makeFragmentedMp4, makeH264Mkv, makeMp4, type TestMediaOptions } from '../support/media.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { testAuthEnv } from '../support/auth.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kestrel.js');

/** Every fragment received so far (Kestrel, unlike the KVS docs, requires a FragmentSelector). */
const everything = () => ({
  FragmentSelectorType: 'SERVER_TIMESTAMP' as const,
  TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(Date.now() + 3_600_000) },
});
const CLIP: TestMediaOptions = { seconds: 6, fps: 25, gop: 25, audio: true };

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], stdinFile?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...testAuthEnv };
    delete env.KESTREL_ENDPOINT;
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: [stdinFile ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    if (stdinFile && child.stdin) fs.createReadStream(stdinFile).pipe(child.stdin);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function listFragments(url: string, stream: string): Promise<Fragment[]> {
  const kvam = new KinesisVideoArchivedMediaClient(sdkConfig(url));
  const out = await kvam.send(new ListFragmentsCommand({ StreamName: stream, MaxResults: 1000, FragmentSelector: everything() }));
  kvam.destroy();
  return out.Fragments ?? [];
}

async function gopCount(file: string): Promise<number> {
  return (await videoPackets(file)).filter((p) => p.keyframe).length;
}

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv?.close();
});

describe('kestrel push', () => {
  it('pushes an H.264 + AAC MKV: one fragment per GOP, wall-clock producer timestamps', async () => {
    const file = await makeH264Mkv(CLIP);
    const gops = await gopCount(file);
    expect(gops).toBe(6);
    const before = Date.now();
    const r = await runCli(['push', file, '--stream', 'mkv', '--endpoint', srv.url, '--create']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('created stream mkv');
    expect(r.stderr).toMatch(/PERSISTED\s+tc=\d+\s+\d{47}/);
    expect(r.stderr).toMatch(new RegExp(`done: ${gops} fragment\\(s\\) persisted`));

    const fragments = await listFragments(srv.url, 'mkv');
    expect(fragments.length).toBeGreaterThanOrEqual(gops - 1);
    expect(fragments.length).toBeLessThanOrEqual(gops);
    // RELATIVE mode anchored at the upload start: producer time is "now", not 1970.
    for (const f of fragments) {
      expect(f.ProducerTimestamp!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(f.ProducerTimestamp!.getTime()).toBeLessThanOrEqual(Date.now() + CLIP.seconds * 1000);
    }
  });

  it('pushes a plain MP4 file', async () => {
    const file = await makeMp4(CLIP);
    const r = await runCli(['push', file, '--stream', 'mp4', '--endpoint', srv.url, '--create', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/PERSISTED\s+tc=/);
    const fragments = await listFragments(srv.url, 'mp4');
    expect(fragments.length).toBeGreaterThanOrEqual(5);
    expect(fragments.length).toBeLessThanOrEqual(6);
  });

  it('pushes fragmented MP4 from stdin and prints raw ACKs with --json', async () => {
    const file = await makeFragmentedMp4({ ...CLIP, audio: false });
    const r = await runCli(['push', '-', '--stream', 'stdin', '--endpoint', srv.url, '--create', '--json'], file);
    expect(r.code, r.stderr).toBe(0);
    const acks = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { EventType: string });
    expect(acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(6);
    expect((await listFragments(srv.url, 'stdin')).length).toBe(6);
  });

  it('fails clearly for a missing stream without --create', async () => {
    const file = await makeH264Mkv(CLIP);
    const r = await runCli(['push', file, '--stream', 'missing', '--endpoint', srv.url]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('ResourceNotFoundException');
    expect(r.stderr).toContain('--create');
  });

  it('exits non-zero and names the error when the service rejects a fragment', async () => {
    // A scripted service: the stream exists, and PutMedia answers the first bytes with an ERROR ACK.
    const fake = http.createServer((req, res) => {
      const reply = (obj: unknown): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(obj));
      if (req.url === '/describeStream') return reply({ StreamInfo: { StreamName: 'x', Status: 'ACTIVE' } });
      if (req.url === '/getDataEndpoint') return reply({ DataEndpoint: `http://127.0.0.1:${(fake.address() as AddressInfo).port}` });
      res.writeHead(200);
      req.once('data', () => {
        res.end('{"EventType":"ERROR","FragmentTimecode":0,"FragmentNumber":"1","ErrorId":4004,"ErrorCode":"FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS"}\n');
        // Keep reading like KVS (and Kestrel) do, so the close is not a reset that eats the ACK.
        req.resume();
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
      const r = await runCli(['push', await makeH264Mkv(CLIP), '--stream', 'x', '--endpoint', url]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/ERROR\s+tc=0\s+1\s+4004 FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS/);
      expect(r.stderr).toContain('1 fragment(s) rejected; first: ERROR 4004 FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS');
    } finally {
      fake.closeAllConnections();
      fake.close();
    }
  });

  it('rejects bad usage with exit code 2', async () => {
    const r = await runCli(['push', '--stream', 's', '--endpoint', srv.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing the file');
  });
});

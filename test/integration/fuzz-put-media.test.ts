/**
 * Mutation fuzzer for PutMedia bodies (issue 8, item 10). A fixed seed mutates valid MKV (synthetic
 * and ffmpeg-made) and fragmented MP4 bodies — bit flips, byte inserts/deletes, truncation, size
 * fields, huge declared sizes, deep nesting, splices, empty/header-only bodies — and sends each in
 * random chunks to a real `kestrel serve` child process while a healthy producer pushes alongside.
 * Asserts: no 5xx and no 5000 ACK, every request completes within a bound, every body gets an ACK,
 * the server's RSS stays bounded, every PERSISTED fragment is listed, reads back through
 * GetMediaForFragmentList as parseable MKV and packages to HLS (TS and fMP4) without a 5xx, and
 * the healthy producer's fragments are all PERSISTED.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MkvStreamParser } from '../../src/mkv/index.ts';
import { signedFetch } from '../support/auth.ts';
import { Rng, mutateBody, randomChunks, sampleRss, within, type Mutation } from '../support/fuzz.ts';
import { makeFragmentedMp4, makeH264Mkv } from '../support/media.ts';
import { rawPutMedia, type Ack } from '../support/raw-put-media.ts';
import { spawnScratchServer } from '../support/server-process.ts';
import { AUDIO_TRACK, VIDEO_TRACK, mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';

const SEED = 0x5eed_0008;
const CASES = Number(process.env.KESTREL_FUZZ_CASES ?? 300);
const WORKERS = 3;
/** A case (one PutMedia request) must finish within this, even on a busy 2-core machine. */
const CASE_BOUND_MS = 30_000;
/** Server RSS may grow this much over its warmed-up size while fuzzed (bodies are < 1 MB each). */
const RSS_GROWTH_BOUND = 300 * 1024 * 1024;

let server: Awaited<ReturnType<typeof spawnScratchServer>>;
const startedAt = Date.now();

async function call(op: string, body: unknown): Promise<Response> {
  return signedFetch(`${server.url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function listFragmentNumbers(stream: string): Promise<Set<string>> {
  const out = new Set<string>();
  let token: string | undefined;
  do {
    const res = await call('listFragments', token
      ? { StreamName: stream, NextToken: token }
      : { StreamName: stream, FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: 0, EndTimestamp: 4e9 } } });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { Fragments: Array<{ FragmentNumber: string }>; NextToken?: string };
    for (const f of page.Fragments) out.add(f.FragmentNumber);
    token = page.NextToken;
  } while (token);
  return out;
}

/** Synthetic two-track MKV: three 1 s clusters of small length-prefixed H.264 frames and AAC frames. */
function syntheticMkv(): Buffer {
  const clusters = [0, 1000, 2000].map((t) => mkvCluster({ timecode: t, frames: 10, frameIntervalMs: 100, frameBytes: 120, tracks: [1, 2] }));
  return Buffer.concat([mkvHeader({ tracks: [VIDEO_TRACK, AUDIO_TRACK] }), ...clusters]);
}

interface CaseResult {
  mutation: Mutation;
  status: number;
  acks: Ack[];
}

beforeAll(async () => {
  server = await spawnScratchServer('kestrel-fuzz-', {
    // The fuzzer sends dozens of PutMedia calls per second per stream; KVS's 5 TPS call quota
    // (--max-calls-per-second-per-stream) would refuse most of them before their bodies are read.
    KESTREL_MAX_CALLS_PER_SECOND_PER_STREAM: '0',
  });
});

afterAll(async () => {
  await server?.stop();
});

describe('PutMedia mutation fuzzer', () => {
  it(`${CASES} mutated MKV / fMP4 bodies: no 5xx, no hang, bounded RSS, nothing corrupt stored, a healthy producer unharmed`, { timeout: 240_000 }, async () => {
    const corpus: Array<{ kind: 'mkv' | 'fmp4'; body: Buffer }> = [
      { kind: 'mkv', body: syntheticMkv() },
      { kind: 'mkv', body: fs.readFileSync(await makeH264Mkv({ seconds: 2, fps: 10, gop: 10, audio: true, size: '160x120' })) },
      { kind: 'fmp4', body: fs.readFileSync(await makeFragmentedMp4({ seconds: 2, fps: 10, gop: 10, audio: true, size: '160x120' })) },
    ];
    const streams = Array.from({ length: WORKERS }, (_, i) => `fuzz-${i}`);
    for (const s of [...streams, 'healthy']) expect((await call('createStream', { StreamName: s, DataRetentionInHours: 24 })).status).toBe(200);

    // Every worker stream first gets each corpus body unmutated: they must be stored whole.
    for (const s of streams) {
      for (const c of corpus) {
        const put = await within(CASE_BOUND_MS, 'valid PutMedia', rawPutMedia(server.url, s, [c.body]));
        expect(put.acks.filter((a) => a.EventType === 'ERROR'), `${s} ${c.kind}`).toEqual([]);
        expect(put.acks.some((a) => a.EventType === 'PERSISTED')).toBe(true);
      }
    }
    const persisted = new Map<string, Set<string>>(streams.map((s) => [s, new Set()]));
    for (const s of streams) for (const n of await listFragmentNumbers(s)) persisted.get(s)!.add(n);

    const rss = sampleRss(server.child.pid!);

    // The healthy producer: 1 s clusters as fast as ACKs allow, until the fuzzing is done.
    let fuzzing = true;
    const healthyAcks: Ack[] = [];
    async function* healthyBody() {
      yield mkvHeader();
      for (let i = 0; fuzzing; i++) {
        yield mkvCluster({ timecode: startedAt + i * 1000, frames: 5, frameIntervalMs: 200, frameBytes: 400 });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const healthy = rawPutMedia(server.url, 'healthy', healthyBody(), {}, (a) => healthyAcks.push(a));

    const rng = new Rng(SEED);
    // Draw every case up front so the sequence does not depend on timing between workers.
    const cases = Array.from({ length: CASES }, (_, i) => {
      const source = rng.pick(corpus);
      const mutation = mutateBody(rng, source.body, source.kind);
      return { index: i, stream: streams[i % WORKERS]!, mutation, chunks: randomChunks(rng, mutation.body) };
    });
    const results: CaseResult[] = [];
    const failures: string[] = [];
    await Promise.all(streams.map(async (stream) => {
      for (const c of cases.filter((x) => x.stream === stream)) {
        const label = `case ${c.index} ${c.mutation.name} (${c.mutation.body.length} bytes)`;
        const before = failures.length;
        try {
          const put = await within(CASE_BOUND_MS, label, rawPutMedia(server.url, stream, c.chunks));
          results.push({ mutation: c.mutation, status: put.status, acks: put.acks });
          if (put.status >= 500) failures.push(`${label}: HTTP ${put.status} ${put.body.slice(0, 200)}`);
          if (put.status === 200 && put.acks.length === 0) failures.push(`${label}: 200 without any ACK`);
          for (const a of put.acks) {
            if ((a.ErrorId ?? 0) >= 5000) failures.push(`${label}: ERROR ${a.ErrorId} ${a.ErrorCode}`);
            if (a.EventType === 'PERSISTED') persisted.get(stream)!.add(a.FragmentNumber!);
          }
        } catch (err) {
          failures.push(`${label}: ${(err as Error).message}`);
        }
        if (failures.length > before) keepForReplay(c.index, c.mutation);
      }
    }));
    fuzzing = false;
    const healthyResult = await within(CASE_BOUND_MS, 'healthy producer', healthy);
    const { baseline: baselineRss, peak: peakRss } = rss.stop();

    expect(failures).toEqual([]);
    expect(server.child.exitCode).toBeNull();
    expect(results).toHaveLength(CASES);
    // The fuzzer exercised both outcomes: refused bodies and bodies (partly) stored.
    expect(results.filter((r) => r.acks.some((a) => a.EventType === 'ERROR')).length).toBeGreaterThan(CASES / 4);
    expect(results.filter((r) => r.acks.some((a) => a.EventType === 'PERSISTED')).length).toBeGreaterThan(10);
    expect(peakRss - baselineRss, `RSS ${baselineRss >> 20} MB → peak ${peakRss >> 20} MB`).toBeLessThan(RSS_GROWTH_BOUND);

    // The healthy producer: no error, every fragment PERSISTED.
    expect(healthyResult.status).toBe(200);
    expect(healthyAcks.filter((a) => a.EventType === 'ERROR')).toEqual([]);
    const buffering = healthyAcks.filter((a) => a.EventType === 'BUFFERING').map((a) => a.FragmentNumber);
    expect(buffering.length).toBeGreaterThan(3);
    expect(healthyAcks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber)).toEqual(buffering);

    // Nothing corrupt stored or served.
    for (const stream of streams) await checkServed(stream, persisted.get(stream)!);
  });
});

/** Failing bodies go to test-artifacts/fuzz/ so a failure can be replayed by hand. */
function keepForReplay(index: number, mutation: Mutation): void {
  const dir = path.resolve('test-artifacts/fuzz');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `case-${index}-${mutation.name.replace(/[^a-z0-9@=+()-]/gi, '_')}.bin`), mutation.body);
}

/** Every PERSISTED fragment is listed, reads back as MKV, and packages to HLS TS and fMP4 segments without a 5xx. */
async function checkServed(stream: string, persisted: Set<string>): Promise<void> {
  const listed = await listFragmentNumbers(stream);
  const missing = [...persisted].filter((n) => !listed.has(n));
  expect(missing, `${stream}: PERSISTED but not listed`).toEqual([]);
  const numbers = [...persisted];
  for (let i = 0; i < numbers.length; i += 500) {
    const batch = numbers.slice(i, i + 500);
    const res = await call('getMediaForFragmentList', { StreamName: stream, Fragments: batch });
    expect(res.status).toBe(200);
    const parser = new MkvStreamParser();
    const bytes = Buffer.from(await res.arrayBuffer());
    const events = [...parser.push(bytes), ...parser.end()];
    expect(events.filter((e) => e.type === 'cluster-start'), `${stream}: clusters read back`).toHaveLength(batch.length);
  }
  const range = { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: startedAt / 1000 - 60, EndTimestamp: (Date.now() - 1) / 1000 } };
  for (const container of ['MPEG_TS', 'FRAGMENTED_MP4'] as const) {
    const session = await call('getHLSStreamingSessionURL', { StreamName: stream, PlaybackMode: 'ON_DEMAND', ContainerFormat: container, HLSFragmentSelector: range, Expires: 3600 });
    expect(session.status, `${stream} ${container} session: ${await session.clone().text()}`).toBe(200);
    const masterUrl = ((await session.json()) as { HLSStreamingSessionURL: string }).HLSStreamingSessionURL;
    const token = new URL(masterUrl).searchParams.get('SessionToken')!;
    const base = new URL('.', masterUrl);
    // Everything a player is offered plays: the playlist's segments all answer 200.
    const playlist = await fetch(new URL(`getHLSMediaPlaylist.m3u8?SessionToken=${encodeURIComponent(token)}&TrackNumber=1`, base));
    expect(playlist.status).toBe(200);
    const offered = [...(await playlist.text()).matchAll(/^get(?:TSFragment\.ts|MP4MediaFragment\.mp4)\?FragmentNumber=(\d+)/gm)].map((m) => m[1]!);
    expect(offered.length).toBeGreaterThan(0);
    const segment = (n: string) =>
      new URL(container === 'MPEG_TS'
        ? `getTSFragment.ts?FragmentNumber=${n}&SessionToken=${encodeURIComponent(token)}`
        : `getMP4MediaFragment.mp4?FragmentNumber=${n}&SessionToken=${encodeURIComponent(token)}&TrackNumber=1`, base);
    for (const n of numbers) {
      const res = await fetch(segment(n));
      const body = await res.arrayBuffer();
      expect(res.status, `${stream} ${container} fragment ${n}: ${Buffer.from(body).toString('utf8', 0, 200)}`).toBeLessThan(500);
      if (offered.includes(n)) expect(res.status, `${stream} ${container} offered fragment ${n}`).toBe(200);
    }
  }
}

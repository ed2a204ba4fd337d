/**
 * `kestrel serve --media s3://… --s3-endpoint …` against Ceph RGW: fragments are sealed and uploaded
 * within the seal interval, the local segments go away, and every read API returns the pushed bytes
 * from the bucket. `--durability replicated` uploads each fragment before its PERSISTED ACK.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { spawnServer, type ServerProcess } from '../support/server-process.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { signedFetch } from '../support/auth.ts';
import { eventually, until } from '../support/wait.ts';
import { createTestBucket, rgwChildEnv, type TestBucket } from '../support/s3.ts';
import { MkvStreamParser } from '../../src/mkv/index.ts';
import { epochOf } from '../../src/shared/fragment-number.ts';

/** Objects sit under the fencing epoch their fragments were written in (10 digits). */
const epochDir = (fragmentNumber: string): string => String(epochOf(fragmentNumber)).padStart(10, '0');
import { SEALED_FOOTER_BYTES, parseSealedFooter, parseSealedTrailer } from '../../src/mkv/sealed-object.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kestrel.js');
let bucket: TestBucket;
const dirs: string[] = [];
beforeAll(async () => {
  bucket = await createTestBucket('media-s3');
});
afterAll(async () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  await bucket?.remove();
});

function blockBytes(mkv: Buffer): Buffer {
  return Buffer.concat(new MkvStreamParser().push(mkv).flatMap((e) => (e.type === 'block' ? [e.raw] : [])));
}

async function startNode(extra: string[]): Promise<{ node: ServerProcess; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-media-s3-'));
  dirs.push(dataDir);
  const node = await spawnServer(
    ['--port', '0', '--data', dataDir, '--media', `s3://${bucket.name}/site-a`, '--s3-endpoint', bucket.settings.endpoint, ...extra],
    rgwChildEnv(bucket.settings),
  );
  return { node, dataDir };
}

async function api(url: string, op: string, body: unknown): Promise<Response> {
  return signedFetch(`${url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await bucket.client.send(new ListObjectsV2Command({ Bucket: bucket.name, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

async function objectBytes(key: string): Promise<Buffer> {
  const out = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

async function pushFragments(url: string, stream: string, count: number, startMs: number): Promise<{ persisted: string[]; clusters: Map<string, Buffer> }> {
  const clusters = Array.from({ length: count }, (_, i) => mkvCluster({ timecode: startMs + 1000 * i, frameBytes: 3000, seed: i * 13 + 1 }));
  const persisted: string[] = [];
  const byNumber = new Map<string, Buffer>();
  const result = await rawPutMedia(url, stream, [mkvHeader(), ...clusters]);
  let i = 0;
  for (const a of result.acks) {
    if (a.EventType !== 'PERSISTED') continue;
    persisted.push(a.FragmentNumber!);
    byNumber.set(a.FragmentNumber!, clusters[i++]!);
  }
  expect(persisted).toHaveLength(count);
  return { persisted, clusters: byNumber };
}

async function readBackAll(url: string, stream: string, numbers: string[]): Promise<Buffer> {
  const res = await api(url, 'getMediaForFragmentList', { StreamName: stream, Fragments: numbers });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('media on S3 (Ceph RGW)', () => {
  it('local durability: seals within the interval, drops the local segments, reads back byte-identical from the bucket', async () => {
    const { node, dataDir } = await startNode(['--seal-interval', '500ms', '--metrics-token', 'metrics-secret']);
    let persisted: string[] = [];
    let bytes: Buffer = Buffer.alloc(0);
    try {
      expect((await api(node.url, 'createStream', { StreamName: 'cam-s3', DataRetentionInHours: 24 })).status).toBe(200);
      const pushed = await pushFragments(node.url, 'cam-s3', 5, 0);
      persisted = pushed.persisted;
      const clusters = pushed.clusters;

      // Every fragment lands in an object under site-a/streams/cam-s3/<epoch>/…, and the local log empties.
      const mediaDir = path.join(dataDir, 'media');
      const state = await eventually(
        async () => {
          const keys = await keysUnder('site-a/streams/cam-s3/');
          const sealed: string[] = [];
          for (const key of keys) {
            const body = await objectBytes(key);
            const at = parseSealedFooter(body.subarray(body.length - SEALED_FOOTER_BYTES), body.length);
            for (const f of parseSealedTrailer(body.subarray(at.offset, at.offset + at.length)).fragments) sealed.push(f.fragmentNumber);
          }
          const segments = fs.readdirSync(mediaDir).flatMap((d) => fs.readdirSync(path.join(mediaDir, d)));
          return { keys, sealed: sealed.sort(), segments };
        },
        (s) => s.sealed.join() === [...persisted].sort().join() && s.segments.length === 0,
        'every fragment sealed in the bucket and the local segments removed',
        20_000,
      );
      const keys = state.keys;
      for (const key of keys) expect(key).toMatch(/^site-a\/streams\/cam-s3\/\d{10}\/\d{47}-\d{47}\.mkv$/);

      // ListFragments and GetMediaForFragmentList answer from the index + bucket alone.
      const listed = await api(node.url, 'listFragments', { StreamName: 'cam-s3' });
      const { Fragments } = (await listed.json()) as { Fragments: Array<{ FragmentNumber: string }> };
      expect(Fragments.map((f) => f.FragmentNumber).sort()).toEqual([...persisted].sort());
      bytes = await readBackAll(node.url, 'cam-s3', persisted);
      const collector = new GetMediaCollector();
      collector.push(bytes);
      expect(collector.numbers).toEqual(persisted);
      const expected = Buffer.concat(persisted.map((n) => blockBytes(Buffer.concat([mkvHeader(), clusters.get(n)!]))));
      expect(blockBytes(bytes).equals(expected)).toBe(true);

      // The tier reports itself: counters in /metrics, the bucket in /readyz.
      const metrics = await (await fetch(`${node.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret' } })).text();
      expect(metrics).toMatch(/kestrel_media_tier\{stat="fragments_sealed"\} 5\b/);
      // The newest fragments may still come from the in-memory live tail; at least one came from the bucket.
      expect(metrics).toMatch(/kestrel_media_tier\{stat="cache_misses"\} [1-5]\b/);
      expect(metrics).toMatch(/kestrel_media_tier\{stat="local_segments_removed"\} [1-9]/);
      expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
    } finally {
      node.child.kill('SIGTERM');
      expect(await node.exited).toBe(0);
    }

    // The objects alone rebuild the index: a fresh data folder, `kestrel reindex`, a new node on it.
    const freshDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-reindex-'));
    dirs.push(freshDir);
    const run = (): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(process.execPath, [BIN, 'reindex', '--media', `s3://${bucket.name}/site-a`, '--s3-endpoint', bucket.settings.endpoint, '--index', freshDir], {
        env: { ...process.env, ...rgwChildEnv(bucket.settings) },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ fragmentsAdded: 5, fragmentsKnown: 0, streamsCreated: ['cam-s3'], skipped: [] });
    // Idempotent: a second run finds every fragment already indexed.
    expect(JSON.parse(run().stdout)).toMatchObject({ fragmentsAdded: 0, fragmentsKnown: 5, streamsCreated: [] });

    const rebuilt = await spawnServer(
      ['--port', '0', '--data', freshDir, '--media', `s3://${bucket.name}/site-a`, '--s3-endpoint', bucket.settings.endpoint, '--metrics-token', 'metrics-secret'],
      rgwChildEnv(bucket.settings),
    );
    try {
      const listed = await api(rebuilt.url, 'listFragments', { StreamName: 'cam-s3' });
      const { Fragments } = (await listed.json()) as { Fragments: Array<{ FragmentNumber: string }> };
      expect(Fragments.map((f) => f.FragmentNumber).sort()).toEqual([...persisted].sort());
      const again = await readBackAll(rebuilt.url, 'cam-s3', persisted);
      expect(again.equals(bytes)).toBe(true);
      // A fresh process has no live tail: all five came from the bucket, and a second read hits the cache.
      await readBackAll(rebuilt.url, 'cam-s3', persisted);
      const metrics = await (await fetch(`${rebuilt.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret' } })).text();
      expect(metrics).toMatch(/kestrel_media_tier\{stat="cache_misses"\} 5\b/);
      expect(metrics).toMatch(/kestrel_media_tier\{stat="cache_hits"\} 5\b/);
    } finally {
      rebuilt.child.kill('SIGTERM');
      expect(await rebuilt.exited).toBe(0);
    }
  });

  it('local durability, node lost for good (kill -9, data folder gone): the bucket alone holds every fragment older than the seal interval', async () => {
    const { node, dataDir } = await startNode(['--seal-interval', '500ms']);
    expect((await api(node.url, 'createStream', { StreamName: 'cam-lost', DataRetentionInHours: 24 })).status).toBe(200);
    const persistedAt = new Map<string, number>();
    let killedAt = 0;
    async function* camera(): AsyncGenerator<Buffer> {
      yield mkvHeader();
      for (let i = 0; killedAt === 0; i++) {
        yield mkvCluster({ timecode: 1000 * i, frameBytes: 2000, seed: i });
        await new Promise((r) => setTimeout(r, 200)); // 5 fragments/s: the KVS per-stream rate
      }
    }
    const upload = rawPutMedia(node.url, 'cam-lost', camera(), {}, (a) => {
      if (a.EventType === 'PERSISTED') persistedAt.set(a.FragmentNumber!, Date.now());
    }).catch(() => undefined);
    await until(() => persistedAt.size >= 20, '20 fragments PERSISTED');
    killedAt = Date.now();
    node.child.kill('SIGKILL');
    await node.exited;
    await upload;
    fs.rmSync(dataDir, { recursive: true, force: true });

    const freshDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-reindex-'));
    dirs.push(freshDir);
    const out = spawnSync(process.execPath, [BIN, 'reindex', '--media', `s3://${bucket.name}/site-a`, '--s3-endpoint', bucket.settings.endpoint, '--index', freshDir], {
      env: { ...process.env, ...rgwChildEnv(bucket.settings) },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out.status, out.stderr).toBe(0);
    const rebuilt = await spawnServer(['--port', '0', '--data', freshDir, '--media', `s3://${bucket.name}/site-a`, '--s3-endpoint', bucket.settings.endpoint], rgwChildEnv(bucket.settings));
    try {
      const listed = await api(rebuilt.url, 'listFragments', { StreamName: 'cam-lost', MaxResults: 1000 });
      const numbers = ((await listed.json()) as { Fragments: Array<{ FragmentNumber: string }> }).Fragments.map((f) => f.FragmentNumber);
      const present = new Set(numbers);
      expect(present.size).toBe(numbers.length); // no fragment twice
      // Lost at most: what was PERSISTED within one seal interval (+ the upload, allowed 1.5 s) of the kill.
      const old = [...persistedAt].filter(([, at]) => at < killedAt - 2000).map(([n]) => n);
      expect(old.length).toBeGreaterThan(5);
      expect(old.filter((n) => !present.has(n))).toEqual([]);
    } finally {
      rebuilt.child.kill('SIGTERM');
      expect(await rebuilt.exited).toBe(0);
    }
  });

  it('a node stopping (SIGTERM) seals and uploads its tail before it exits', async () => {
    const { node } = await startNode(['--seal-interval', '10m']);
    expect((await api(node.url, 'createStream', { StreamName: 'cam-handover', DataRetentionInHours: 24 })).status).toBe(200);
    const { persisted } = await pushFragments(node.url, 'cam-handover', 3, 0);
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    const keys = await keysUnder('site-a/streams/cam-handover/');
    expect(keys).toEqual([`site-a/streams/cam-handover/${epochDir(persisted[0]!)}/${persisted[0]}-${persisted[2]}.mkv`]);
  });

  it('a missing bucket: not ready, local durability still ACKs and retries, replicated answers ARCHIVAL_ERROR', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-media-s3-'));
    dirs.push(dataDir);
    const missing = ['--media', `s3://${bucket.name}-missing/x`, '--s3-endpoint', bucket.settings.endpoint];
    const node = await spawnServer(['--port', '0', '--data', dataDir, ...missing, '--seal-interval', '200ms', '--metrics-token', 'm'], rgwChildEnv(bucket.settings));
    try {
      const res = await fetch(`${node.url}/readyz`);
      expect(res.status).toBe(503);
      expect(JSON.stringify(await res.json())).toContain('objects');
      // Local durability does not wait for the bucket: PERSISTED as usual, uploads fail and are retried.
      expect((await api(node.url, 'createStream', { StreamName: 'cam-nobucket', DataRetentionInHours: 24 })).status).toBe(200);
      await pushFragments(node.url, 'cam-nobucket', 2, 0);
      await until(async () => /kestrel_media_tier\{stat="upload_failures"\} [2-9]/.test(await (await fetch(`${node.url}/metrics`, { headers: { authorization: 'Bearer m' } })).text()), 'two failed seal passes');
    } finally {
      node.child.kill('SIGTERM');
      expect(await node.exited).toBe(0);
    }

    // Replicated durability cannot ACK PERSISTED without the bucket: the producer gets ARCHIVAL_ERROR.
    const replicatedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-media-s3-'));
    dirs.push(replicatedDir);
    const strict = await spawnServer(['--port', '0', '--data', replicatedDir, ...missing, '--durability', 'replicated'], rgwChildEnv(bucket.settings));
    try {
      expect((await api(strict.url, 'createStream', { StreamName: 'cam-strict', DataRetentionInHours: 24 })).status).toBe(200);
      const result = await rawPutMedia(strict.url, 'cam-strict', [mkvHeader(), mkvCluster({ timecode: 0, frameBytes: 1000 })]);
      expect(result.acks.filter((a) => a.EventType === 'PERSISTED')).toEqual([]);
      expect(result.acks.at(-1)).toMatchObject({ EventType: 'ERROR', ErrorCode: 'ARCHIVAL_ERROR' });
    } finally {
      strict.child.kill('SIGTERM');
      expect(await strict.exited).toBe(0);
    }
  });

  it('replicated durability: each fragment is in the bucket before its PERSISTED ACK', async () => {
    const { node } = await startNode(['--durability', 'replicated', '--seal-interval', '1s']);
    try {
      expect((await api(node.url, 'createStream', { StreamName: 'cam-repl', DataRetentionInHours: 24 })).status).toBe(200);
      const seenAtAck: boolean[] = [];
      const pending: Array<Promise<void>> = [];
      const clusters = Array.from({ length: 4 }, (_, i) => mkvCluster({ timecode: 1000 * i, frameBytes: 2000, seed: i + 3 }));
      const result = await rawPutMedia(node.url, 'cam-repl', [mkvHeader(), ...clusters], {}, (ack) => {
        if (ack.EventType !== 'PERSISTED') return;
        // Checked as the ACK arrives: the fragment's own object must already exist.
        const key = `site-a/streams/cam-repl/${epochDir(ack.FragmentNumber!)}/${ack.FragmentNumber}-${ack.FragmentNumber}.mkv`;
        const index = seenAtAck.length;
        seenAtAck.push(false);
        pending.push(keysUnder(key).then((k) => void (seenAtAck[index] = k.includes(key))));
      });
      await Promise.all(pending);
      const persisted = result.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
      expect(persisted).toHaveLength(4);
      expect(seenAtAck).toEqual([true, true, true, true]);
      const bytes = await readBackAll(node.url, 'cam-repl', persisted);
      const expected = Buffer.concat(clusters.map((c) => blockBytes(Buffer.concat([mkvHeader(), c]))));
      expect(blockBytes(bytes).equals(expected)).toBe(true);

      // DeleteStream removes the stream's objects too.
      expect(await keysUnder('site-a/streams/cam-repl/')).toHaveLength(4);
      expect((await api(node.url, 'deleteStream', { StreamARN: (await (await api(node.url, 'describeStream', { StreamName: 'cam-repl' })).json() as { StreamInfo: { StreamARN: string } }).StreamInfo.StreamARN })).status).toBe(200);
      expect(await keysUnder('site-a/streams/cam-repl/')).toEqual([]);
    } finally {
      node.child.kill('SIGTERM');
      expect(await node.exited).toBe(0);
    }
  });
});

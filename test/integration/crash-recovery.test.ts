import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer } from '../support/server-process.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { GetMediaCollector } from '../support/get-media-reader.ts';
import { MkvStreamParser } from '../../src/mkv/index.ts';
import { signedFetch } from '../support/auth.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-crash-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** The SimpleBlock bytes of one pushed cluster or of one fragment read back. */
function blockBytes(mkv: Buffer): Buffer {
  const p = new MkvStreamParser();
  const blocks = [...p.push(mkv)].filter((e) => e.type === 'block').map((e) => (e as { raw: Buffer }).raw);
  return Buffer.concat(blocks);
}

describe('crash consistency', () => {
  it('after kill -9 during ingest, every PERSISTED fragment is listed and byte-identical, and orphan bytes are gone', async () => {
    const first = await spawnServer(['--port', '0', '--data', dataDir]);
    const created = await signedFetch(`${first.url}/createStream`, { method: 'POST', body: JSON.stringify({ StreamName: 'crashy', DataRetentionInHours: 24 }) });
    expect(created.status).toBe(200);

    const pushed = new Map<number, Buffer>();
    const persisted: Array<{ number: string; timecode: number }> = [];
    async function* camera() {
      yield mkvHeader();
      for (let i = 0; ; i++) {
        const cluster = mkvCluster({ timecode: 1000 * i, frameBytes: 4000, seed: i * 7 });
        pushed.set(1000 * i, cluster);
        // Send each cluster in two halves so the kill can land inside a fragment.
        yield cluster.subarray(0, cluster.length >> 1);
        await new Promise((r) => setTimeout(r, 15));
        yield cluster.subarray(cluster.length >> 1);
        await new Promise((r) => setTimeout(r, 15));
      }
    }
    const upload = rawPutMedia(first.url, 'crashy', camera(), {}, (a) => {
      if (a.EventType === 'PERSISTED') persisted.push({ number: a.FragmentNumber!, timecode: a.FragmentTimecode! });
    }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    await first.exited;
    await upload;

    const second = await spawnServer(['--port', '0', '--data', dataDir]);
    try {
      const listed = await signedFetch(`${second.url}/listFragments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ StreamName: 'crashy', FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: 0, EndTimestamp: 4e9 } } }),
      });
      const { Fragments } = (await listed.json()) as { Fragments: Array<{ FragmentNumber: string; FragmentSizeInBytes: number }> };
      const listedNumbers = new Set(Fragments.map((f) => f.FragmentNumber));
      expect(persisted.length).toBeGreaterThan(3);
      for (const p of persisted) expect(listedNumbers.has(p.number)).toBe(true);

      const res = await signedFetch(`${second.url}/getMediaForFragmentList`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ StreamName: 'crashy', Fragments: persisted.map((p) => p.number) }),
      });
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      const collector = new GetMediaCollector();
      collector.push(bytes);
      expect(collector.numbers).toEqual(persisted.map((p) => p.number));
      // Compare the frames read back with what was pushed.
      const readBack = blockBytes(bytes);
      const expected = Buffer.concat(persisted.map((p) => blockBytes(Buffer.concat([mkvHeader(), pushed.get(p.timecode)!]))));
      expect(readBack.equals(expected)).toBe(true);

      // Orphan bytes of the fragment cut off by the kill were truncated away at startup.
      const segDir = fs.readdirSync(path.join(dataDir, 'media')).map((d) => path.join(dataDir, 'media', d))[0]!;
      const onDisk = fs.readdirSync(segDir).reduce((n, f) => n + fs.statSync(path.join(segDir, f)).size, 0);
      expect(onDisk).toBe(Fragments.reduce((n, f) => n + f.FragmentSizeInBytes, 0));

      // And the stream takes new data after the restart.
      const again = await rawPutMedia(second.url, 'crashy', [Buffer.concat([mkvHeader(), mkvCluster({ timecode: 1_000_000 })])]);
      expect(again.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(1);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  });
});

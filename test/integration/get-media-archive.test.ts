/**
 * GetMedia and GetMediaForFragmentList over archived fragments, byte for byte: the reader reuses
 * its read buffers from fragment to fragment, so a buffer given back while the socket still held
 * it would show up here as one fragment's bytes inside another. Fragments of different sizes (a
 * buffer serves a smaller fragment after a larger one), more of them than the in-memory tail
 * keeps, read by a fast and by a slow client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KVS_TAG, tagsElement } from '../../src/mkv/index.ts';
import { signedFetch } from '../support/auth.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';

const T0 = 1_700_000_000_000;
const FRAME_BYTES = [160_000, 16_000, 96_000, 4_000, 144_000, 48_000, 160_000, 8_000, 120_000, 32_000, 80_000, 64_000];
let srv: TestServer;
const header = mkvHeader();
const clusters = FRAME_BYTES.map((frameBytes, i) => mkvCluster({ timecode: T0 + i * 1000, frameBytes, seed: 17 * i + 3 }));
let listed: Array<{ FragmentNumber: string; ServerTimestamp: number; ProducerTimestamp: number }> = [];

const api = async (path: string, body: unknown, headers: Record<string, string> = {}) =>
  signedFetch(`${srv.url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

const seconds = (s: number) => (Math.round(s * 1000) / 1000).toFixed(3);

/** The cluster as the store keeps it: same children, its size written as an 8-byte vint. */
function asStored(cluster: Buffer): Buffer {
  const sizeBytes = Math.clz32(cluster[4]!) - 23; // the leading zeros of the size's first byte, plus one
  const content = cluster.subarray(4 + sizeBytes);
  const size = Buffer.alloc(8);
  size.writeBigUInt64BE(BigInt(content.length) | (1n << 56n));
  return Buffer.concat([cluster.subarray(0, 4), size, content]);
}

/** What KVS sends for fragment i: header, leading tags, the cluster, and (GetMedia) the trailing tags. */
function expectedChunk(i: number, millisBehindNow: string | undefined): Buffer {
  const f = listed[i]!;
  const parts = [
    header,
    tagsElement([
      { name: KVS_TAG.FRAGMENT_NUMBER, value: f.FragmentNumber },
      { name: KVS_TAG.SERVER_TIMESTAMP, value: seconds(f.ServerTimestamp) },
      { name: KVS_TAG.PRODUCER_TIMESTAMP, value: seconds(f.ProducerTimestamp) },
    ]),
    asStored(clusters[i]!),
  ];
  if (millisBehindNow !== undefined) {
    parts.push(
      tagsElement([
        { name: KVS_TAG.MILLIS_BEHIND_NOW, value: millisBehindNow },
        { name: KVS_TAG.CONTINUATION_TOKEN, value: f.FragmentNumber },
      ]),
    );
  }
  return Buffer.concat(parts);
}

/** MILLIS_BEHIND_NOW values in order of appearance (the only bytes that depend on when the read ran). */
function millisValues(payload: Buffer): string[] {
  const name = Buffer.from(KVS_TAG.MILLIS_BEHIND_NOW);
  const out: string[] = [];
  for (let at = payload.indexOf(name); at >= 0; at = payload.indexOf(name, at + 1)) {
    // TagString: ID 0x4487, a one-byte size (0x80 | length), the digits.
    const s = at + name.length;
    expect(payload.readUInt16BE(s)).toBe(0x4487);
    out.push(payload.subarray(s + 3, s + 3 + (payload[s + 2]! & 0x7f)).toString('latin1'));
  }
  return out;
}

/** Reads a response body; `slow` takes each chunk only after a macrotask, so the server's writes back up. */
async function readBody(res: Response, slow: boolean): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value));
    if (slow) await new Promise((r) => setTimeout(r, 1));
  }
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  srv = await startTestServer();
  expect((await api('/createStream', { StreamName: 'archive', DataRetentionInHours: 24 })).status).toBe(200);
  const put = await rawPutMedia(srv.url, 'archive', [header, ...clusters]);
  expect(put.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(clusters.length);
  const list = await api('/listFragments', { StreamName: 'archive' });
  listed = ((await list.json()) as { Fragments: typeof listed }).Fragments.sort((a, b) => (a.FragmentNumber < b.FragmentNumber ? -1 : 1));
  expect(listed).toHaveLength(clusters.length);
});
afterAll(async () => {
  await srv.close();
});

describe('GetMedia over archived fragments', () => {
  for (const slow of [false, true]) {
    it(`EARLIEST sends every stored fragment byte for byte (${slow ? 'slow' : 'fast'} client)`, async () => {
      const res = await api('/getMedia', { StreamName: 'archive', StartSelector: { StartSelectorType: 'EARLIEST' } }, { 'x-kestrel-get-media-end-wait-ms': '0' });
      expect(res.status).toBe(200);
      const payload = await readBody(res, slow);
      const millis = millisValues(payload);
      expect(millis).toHaveLength(clusters.length);
      const expected = Buffer.concat(clusters.map((_, i) => expectedChunk(i, millis[i])));
      expect(payload.length).toBe(expected.length);
      expect(payload.equals(expected)).toBe(true);
    });
  }

  it('GetMediaForFragmentList sends the listed fragments byte for byte, in the order asked', async () => {
    const order = [7, 0, 3, 11, 6, 1, 8, 2];
    const res = await api('/getMediaForFragmentList', { StreamName: 'archive', Fragments: order.map((i) => listed[i]!.FragmentNumber) });
    expect(res.status).toBe(200);
    const payload = await readBody(res, true);
    expect(payload.equals(Buffer.concat(order.map((i) => expectedChunk(i, undefined))))).toBe(true);
  });
});

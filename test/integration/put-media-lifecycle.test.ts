import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { signedFetch } from '../support/auth.ts';

let srv: TestServer;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const ingest = { ...defaultConfig().ingest, idleAckIntervalMs: 300, idleTimeoutMs: 1500 };
  srv = await startTestServer({ ingest });
});
afterAll(async () => {
  await srv.close();
});

async function create(name: string) {
  const r = await signedFetch(`${srv.url}/createStream`, { method: 'POST', body: JSON.stringify({ StreamName: name, DataRetentionInHours: 1 }) });
  expect(r.status).toBe(200);
  return ((await r.json()) as { StreamARN: string }).StreamARN;
}

describe('PutMedia session lifecycle', () => {
  it('sends IDLE while the body is quiet and closes the session after the idle timeout', async () => {
    await create('quiet');
    const started = Date.now();
    const res = await rawPutMedia(srv.url, 'quiet', (async function* () {
      yield Buffer.concat([mkvHeader(), mkvCluster({ timecode: 0 })]);
      await sleep(5000); // longer than the idle timeout: the server must close on its own
      yield mkvCluster({ timecode: 1000 });
    })());
    const types = res.acks.map((a) => a.EventType);
    expect(types.slice(0, 3)).toEqual(['BUFFERING', 'RECEIVED', 'PERSISTED']);
    expect(types.filter((t) => t === 'IDLE').length).toBeGreaterThanOrEqual(2);
    expect(res.acks.find((a) => a.EventType === 'IDLE')!.FragmentNumber).toBe(res.acks[0]!.FragmentNumber);
    expect(Date.now() - started).toBeLessThan(4500);
  });

  it('deleting the stream ends its producer with 4008 STREAM_NOT_ACTIVE', async () => {
    const arn = await create('doomed');
    const upload = rawPutMedia(srv.url, 'doomed', (async function* () {
      yield Buffer.concat([mkvHeader(), mkvCluster({ timecode: 0 })]);
      await sleep(600);
      yield mkvCluster({ timecode: 1000 });
    })());
    await sleep(200);
    const del = await signedFetch(`${srv.url}/deleteStream`, { method: 'POST', body: JSON.stringify({ StreamARN: arn }) });
    expect(del.status).toBe(200);
    const res = await upload;
    expect(res.acks.at(-1)).toMatchObject({ EventType: 'ERROR', ErrorId: 4008, ErrorCode: 'STREAM_NOT_ACTIVE' });
    const described = await signedFetch(`${srv.url}/describeStream`, { method: 'POST', body: JSON.stringify({ StreamName: 'doomed' }) });
    expect(described.status).toBe(404);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { mkvCluster, mkvHeader } from '../support/synthetic-mkv.ts';
import { signedFetch } from '../support/auth.ts';

let srv: TestServer;

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

/** A promise and the function that settles it: lets a paced body wait for a condition. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

describe('PutMedia session lifecycle', () => {
  it('sends IDLE while the body is quiet and closes the session after the idle timeout', async () => {
    await create('quiet');
    const done = signal();
    // The body goes quiet after one fragment and stays quiet until the server has ended the
    // session: if the server never closed it on its own, this test would time out.
    const res = await rawPutMedia(srv.url, 'quiet', (async function* () {
      yield Buffer.concat([mkvHeader(), mkvCluster({ timecode: 0 })]);
      await done.promise;
    })());
    done.fire();
    const types = res.acks.map((a) => a.EventType);
    expect(types.slice(0, 3)).toEqual(['BUFFERING', 'RECEIVED', 'PERSISTED']);
    expect(types.filter((t) => t === 'IDLE').length).toBeGreaterThanOrEqual(2);
    expect(res.acks.find((a) => a.EventType === 'IDLE')!.FragmentNumber).toBe(res.acks[0]!.FragmentNumber);
    expect(types).not.toContain('ERROR');
  });

  it('deleting the stream ends its producer with 4008 STREAM_NOT_ACTIVE', async () => {
    const arn = await create('doomed');
    const persisted = signal();
    const done = signal();
    const upload = rawPutMedia(
      srv.url,
      'doomed',
      (async function* () {
        yield Buffer.concat([mkvHeader(), mkvCluster({ timecode: 0 })]);
        await done.promise;
      })(),
      {},
      (ack) => {
        if (ack.EventType === 'PERSISTED') persisted.fire();
      },
    );
    await persisted.promise; // the producer is live and has stored a fragment
    const del = await signedFetch(`${srv.url}/deleteStream`, { method: 'POST', body: JSON.stringify({ StreamARN: arn }) });
    expect(del.status).toBe(200);
    const res = await upload;
    done.fire();
    expect(res.acks.at(-1)).toMatchObject({ EventType: 'ERROR', ErrorId: 4008, ErrorCode: 'STREAM_NOT_ACTIVE' });
    const described = await signedFetch(`${srv.url}/describeStream`, { method: 'POST', body: JSON.stringify({ StreamName: 'doomed' }) });
    expect(described.status).toBe(404);
  });
});

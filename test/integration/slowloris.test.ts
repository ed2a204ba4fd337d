/**
 * A server that cannot be starved (issue 8 item 6): slow-header sockets are closed by the header
 * timeout and capped per address while a real producer and control-plane calls keep working; a
 * trickling PutMedia producer is dropped with ERROR 4000 so a real camera can take the stream; a
 * keep-alive pool is never stuck behind an ERROR ACK's unread body.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, DescribeStreamCommand, KinesisVideoClient, ListStreamsCommand } from '@aws-sdk/client-kinesis-video';
import { defaultConfig, defaultServerLimits } from '../../src/config.ts';
import { startTestServer, sdkConfig, type TestServer } from '../support/server.ts';
import { rawPutMedia, type Ack } from '../support/raw-put-media.ts';
import { mkvClusters, mkvHeader } from '../support/synthetic-mkv.ts';
import { signedFetch, signedHeaders, signedPutMediaHeaders } from '../support/auth.ts';
import { until } from '../support/wait.ts';

let srv: TestServer;
let kv: KinesisVideoClient;
const port = () => Number(new URL(srv.url).port);

beforeAll(async () => {
  srv = await startTestServer({
    limits: defaultServerLimits({ headersTimeoutMs: 2000, maxConnectionsPerAddress: 400, maxConnections: 5000 }),
    // The trickle rule with a short window so the test sees it within seconds.
    ingest: { ...defaultConfig().ingest, minBytesPerSec: 2000, minRateWindowMs: 3000 },
  });
  kv = new KinesisVideoClient(sdkConfig(srv.url));
  for (const StreamName of ['healthy', 'trickle', 'pool']) await kv.send(new CreateStreamCommand({ StreamName, DataRetentionInHours: 1 }));
});
afterAll(async () => {
  kv?.destroy();
  await srv?.close();
});

/** A camera: one 1 s cluster every 200 ms, as pieces. */
async function* camera(clusters: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  yield mkvHeader();
  for (const c of mkvClusters(clusters, Date.now(), { frameBytes: 2000 })) {
    if (signal?.aborted) return;
    yield c;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('slowloris', () => {
  it('closes 2000 slow-header sockets (header timeout, per-address cap) while a camera and the control plane keep working', async () => {
    const attackers: net.Socket[] = [];
    const slowHeads: net.Socket[] = [];
    const trickle = setInterval(() => {
      for (const s of slowHeads) if (!s.destroyed && s.writable) s.write('a');
    }, 500);
    // Attackers come from 127.0.0.2 so the per-address cap does not touch the camera on 127.0.0.1.
    // They connect in waves of 100 (each wave connected or refused before the next), so the
    // kernel's listen backlog, not the server, is never what delays them.
    const acks: Ack[] = [];
    // The camera streams throughout the attack (a 1 s fragment every 200 ms).
    const put = rawPutMedia(srv.url, 'healthy', camera(40), {}, (a) => acks.push(a));
    const connected: Array<Promise<void>> = [];
    for (let i = 0; i < 2000; i++) {
      if (i % 100 === 0) await Promise.all(connected.splice(0));
      const s = net.connect({ host: '127.0.0.1', port: port(), localAddress: '127.0.0.2' });
      s.on('error', () => {});
      connected.push(new Promise<void>((resolve) => {
        s.once('connect', () => resolve());
        s.once('close', () => resolve());
      }));
      // Half the attackers start a request head and trickle it forever; the other half send nothing.
      if (i % 2 === 0) {
        slowHeads.push(s);
        s.on('connect', () => s.write(`GET /listStreams HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\nX-Slow: `));
      }
      attackers.push(s);
    }
    await Promise.all(connected.splice(0));
    try {
      // Control-plane calls during the attack.
      for (let i = 0; i < 5; i++) {
        const listed = await kv.send(new ListStreamsCommand({}));
        expect(listed.StreamInfoList?.length).toBeGreaterThanOrEqual(3);
      }
      const result = await put;
      expect(result.status).toBe(200);
      expect(result.acks.filter((a) => a.EventType === 'ERROR')).toEqual([]);
      expect(result.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(40);
      // The server holds none of them: refused over the cap, or closed by the header timeout. (Counted
      // server-side: a kernel may leave a client socket it never handed to the server half-open.)
      await until(() => srv.server.edge!().connections.open <= 4, `attacker connections closed (server has ${srv.server.edge!().connections.open} open)`, 45_000);
      // Each silent socket was either refused over the per-address cap or closed by the header timeout
      // (the trickling ones are closed by node's headersTimeout, or refused).
      const { connections } = srv.server.edge!();
      expect(connections.refusedPerAddress + connections.headerTimeouts).toBeGreaterThanOrEqual(1000);
      expect((await kv.send(new DescribeStreamCommand({ StreamName: 'healthy' }))).StreamInfo?.Status).toBe('ACTIVE');
    } finally {
      clearInterval(trickle);
      for (const s of attackers) s.destroy();
    }
  }, 90_000);
});

describe('connection caps', () => {
  it('refuses connections over the per-address cap at once, and counts them, while other addresses are served', async () => {
    const capped = await startTestServer({ limits: defaultServerLimits({ maxConnectionsPerAddress: 50, headersTimeoutMs: 60_000 }) });
    const cappedPort = Number(new URL(capped.url).port);
    const sockets: net.Socket[] = [];
    const open = (n: number) => {
      for (let i = 0; i < n; i++) {
        const s = net.connect({ host: '127.0.0.1', port: cappedPort, localAddress: '127.0.0.3' });
        s.on('error', () => {});
        sockets.push(s);
      }
    };
    try {
      open(50);
      await until(() => capped.server.edge!().connections.open === 50, '50 open connections', 10_000);
      const t0 = Date.now();
      open(20);
      await until(() => capped.server.edge!().connections.refusedPerAddress === 20, '20 refusals', 10_000);
      expect(Date.now() - t0).toBeLessThan(5000);
      const ok = await signedFetch(`${capped.url}/listStreams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(ok.status).toBe(200);
    } finally {
      for (const s of sockets) s.destroy();
      await capped.close();
    }
  });
});

describe('PutMedia minimum rate', () => {
  it('drops a producer trickling one byte a second with ERROR 4000, then a real producer takes the stream', async () => {
    const stop = new AbortController();
    async function* trickler(): AsyncGenerator<Buffer> {
      const header = mkvHeader();
      yield header;
      const cluster = mkvClusters(1, Date.now())[0]!;
      for (let i = 0; i < cluster.length && !stop.signal.aborted; i++) {
        yield cluster.subarray(i, i + 1);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const started = Date.now();
    const slow = await rawPutMedia(srv.url, 'trickle', trickler());
    stop.abort();
    expect(slow.status).toBe(200);
    const last = slow.acks.at(-1);
    expect(last).toMatchObject({ EventType: 'ERROR', ErrorId: 4000, ErrorCode: 'STREAM_READ_ERROR' });
    expect(slow.headers.connection).toBe('close');
    // Dropped after about one window, not after the 45-minute connection limit.
    expect(Date.now() - started).toBeLessThan(15_000);

    const real = await rawPutMedia(srv.url, 'trickle', camera(3));
    expect(real.status).toBe(200);
    expect(real.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(3);
  }, 30_000);
});

describe('keep-alive after an ERROR ACK', () => {
  it('closes the PutMedia connection so the next request on the pool completes at once', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // A valid header, then bytes that are not Matroska, then a tail the server will never read.
      const body = Buffer.concat([mkvHeader(), Buffer.alloc(64, 0xff), Buffer.alloc(512 * 1024, 0x42)]);
      const put = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
        const req = http.request(`${srv.url}/putMedia`, {
          method: 'POST',
          agent,
          headers: {
            ...signedPutMediaHeaders(`${srv.url}/putMedia`, { 'x-amzn-stream-name': 'pool', 'x-amzn-fragment-timecode-type': 'ABSOLUTE', 'content-type': 'application/json' }),
            'content-length': String(body.length),
          },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        });
        req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
        req.end(body);
      });
      expect(put.status).toBe(200);
      expect(put.headers.connection).toBe('close');
      expect(put.text).toMatch(/"EventType":"ERROR".*"ErrorId":4006/);

      const t0 = Date.now();
      const next = await new Promise<number>((resolve, reject) => {
        const headers = signedHeaders('POST', `${srv.url}/listStreams`, { 'content-type': 'application/json' }, Buffer.from('{}'));
        const req = http.request(`${srv.url}/listStreams`, { method: 'POST', agent, headers, timeout: 10_000 });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('timeout', () => req.destroy(new Error('the pooled request hung')));
        req.on('error', reject);
        req.end('{}');
      });
      expect(next).toBe(200);
      expect(Date.now() - t0).toBeLessThan(5000);
      // And the ordinary keep-alive path still works for non-streaming calls.
      const again = await signedFetch(`${srv.url}/listStreams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(again.status).toBe(200);
    } finally {
      agent.destroy();
    }
  }, 30_000);
});

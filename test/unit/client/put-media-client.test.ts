/** The PutMedia client and control-plane helpers against a small scripted HTTP server. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  KvsClientError,
  putMedia,
  PutMediaConnectionError,
  StreamNotFoundError,
} from '../../../src/client/put-media-client.ts';
import { dataEndpoint, ensureStream } from '../../../src/client/control-plane.ts';
import { EMPTY_SHA256 } from '../../../src/auth/sigv4.ts';
import { parseSigV4, verifySignature } from '../../../src/auth/sigv4-verify.ts';
import { testCredentials } from '../../support/auth.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: () => Promise<Buffer>) => void;
let server: http.Server | undefined;

async function serve(handler: Handler): Promise<string> {
  server = http.createServer((req, res) => {
    const body = async (): Promise<Buffer> => {
      const parts: Buffer[] = [];
      for await (const c of req as AsyncIterable<Buffer>) parts.push(c);
      return Buffer.concat(parts);
    };
    handler(req, res, body);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

const ack = (type: string, tc: number, n: number): string =>
  JSON.stringify({ EventType: type, FragmentTimecode: tc, FragmentNumber: String(n).padStart(47, '9') }) + '\n';

describe('putMedia', () => {
  it('streams the body with KVS headers and tallies ACKs split across chunks', async () => {
    let seen: { headers: http.IncomingHttpHeaders; url?: string; body?: Buffer; raw?: string[] } | undefined;
    const url = await serve(async (req, res, body) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      seen = { headers: req.headers, url: req.url, raw: req.rawHeaders };
      seen.body = await body();
      // Split ACKs at awkward places, as TCP may.
      const wire = ack('BUFFERING', 0, 1) + ack('RECEIVED', 0, 1) + ack('PERSISTED', 0, 1) + ack('PERSISTED', 1000, 2);
      for (let i = 0; i < wire.length; i += 37) res.write(wire.slice(i, i + 37));
      res.end();
    });
    const acks: string[] = [];
    const summary = await putMedia({
      endpoint: url + '/',
      streamName: 'cam-1',
      body: Readable.from([Buffer.alloc(1000, 1), Buffer.alloc(500, 2)]),
      producerStartMs: 1704164645005,
      onAck: (a) => acks.push(a.EventType),
      credentials: testCredentials,
    });
    // Signed as the KVS producer SDK signs PutMedia: empty-body hash, no x-amz-content-sha256 header.
    expect(seen!.headers['x-amz-content-sha256']).toBeUndefined();
    const wire = { method: 'POST', path: '/putMedia', query: '', headers: seen!.raw!.flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]!] as [string, string]])) };
    const auth = parseSigV4(wire)!;
    expect(auth.accessKeyId).toBe(testCredentials.accessKeyId);
    verifySignature(auth, wire, testCredentials.secretAccessKey, [EMPTY_SHA256]);
    expect(seen!.url).toBe('/putMedia');
    expect(seen!.headers['x-amzn-stream-name']).toBe('cam-1');
    expect(seen!.headers['x-amzn-fragment-timecode-type']).toBe('RELATIVE');
    expect(seen!.headers['x-amzn-producer-start-timestamp']).toBe('1704164645.005');
    expect(seen!.headers['transfer-encoding']).toBe('chunked');
    expect(seen!.body!.length).toBe(1500);
    expect(acks).toEqual(['BUFFERING', 'RECEIVED', 'PERSISTED', 'PERSISTED']);
    expect(summary).toMatchObject({ acks: 4, persisted: 2, received: 1, buffering: 1, errors: [], bytesSent: 1500, bodyComplete: true });
  });

  it('defaults to ABSOLUTE without a producer start time', async () => {
    let type: unknown;
    const url = await serve(async (req, res, body) => {
      type = req.headers['x-amzn-fragment-timecode-type'];
      await body();
      res.end();
    });
    await putMedia({ endpoint: url, streamName: 's', body: Readable.from([Buffer.from('x')]) });
    expect(type).toBe('ABSOLUTE');
  });

  it('rejects with the KVS error name when the service refuses the request', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(404, { 'x-amzn-ErrorType': 'ResourceNotFoundException:http://internal/', 'content-type': 'application/json' });
      res.end(JSON.stringify({ Message: 'The requested stream is not found or not active.' }));
    });
    const body = new PassThrough();
    body.write(Buffer.alloc(64 * 1024));
    const err = await putMedia({ endpoint: url, streamName: 'nope', body }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KvsClientError);
    expect((err as KvsClientError).errorType).toBe('ResourceNotFoundException');
    expect((err as KvsClientError).statusCode).toBe(404);
    expect((err as Error).message).toContain('ResourceNotFoundException: The requested stream is not found');
  });

  it('resolves when the service ends the ACK stream early and leaves the body to its owner', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200);
      req.once('data', () => {
        res.write(JSON.stringify({ EventType: 'ERROR', FragmentTimecode: 0, FragmentNumber: '1', ErrorId: 4006, ErrorCode: 'INVALID_MKV_DATA' }) + '\n');
        res.end();
      });
    });
    const body = new PassThrough();
    body.write(Buffer.from('not mkv'));
    const summary = await putMedia({ endpoint: url, streamName: 's', body });
    expect(summary.bodyComplete).toBe(false);
    expect(summary.errors).toEqual([expect.objectContaining({ ErrorId: 4006 })]);
    expect(body.destroyed).toBe(false);
  });

  it('rejects with a connection error when the server drops mid-stream', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200);
      res.write(ack('BUFFERING', 0, 1));
      req.once('data', () => setTimeout(() => req.socket.destroy(), 50));
    });
    const body = new PassThrough();
    body.write(Buffer.alloc(100));
    const err = await putMedia({ endpoint: url, streamName: 's', body }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PutMediaConnectionError);
    expect((err as PutMediaConnectionError).summary.buffering).toBe(1);
  });

  it('rejects with a connection error when nothing listens', async () => {
    const url = await serve(() => {});
    server!.close();
    await new Promise((r) => setTimeout(r, 20));
    const err = await putMedia({ endpoint: url, streamName: 's', body: Readable.from([]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PutMediaConnectionError);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('aborts on signal', async () => {
    const url = await serve((_req, res) => res.writeHead(200).flushHeaders());
    const ctl = new AbortController();
    const p = putMedia({ endpoint: url, streamName: 's', body: new PassThrough(), signal: ctl.signal, onAccepted: () => ctl.abort(new Error('bye')) });
    await expect(p).rejects.toThrow('bye');
  });
});

describe('control plane helpers', () => {
  function controlPlane(streams: Set<string>, calls: string[]): Handler {
    return async (req, res, body) => {
      const input = JSON.parse((await body()).toString() || '{}') as Record<string, string>;
      calls.push(`${req.url} ${JSON.stringify(input)}`);
      const json = (status: number, obj: unknown, errorType?: string): void => {
        res.writeHead(status, { 'content-type': 'application/json', ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}) });
        res.end(JSON.stringify(obj));
      };
      const name = input.StreamName ?? '';
      if (req.url === '/describeStream') {
        if (!streams.has(name)) return json(404, { Message: 'not found' }, 'ResourceNotFoundException:');
        return json(200, { StreamInfo: { StreamName: name, StreamARN: `arn:aws:kinesisvideo:us-east-1:0:stream/${name}/1`, Status: 'ACTIVE' } });
      }
      if (req.url === '/createStream') {
        streams.add(name);
        return json(200, { StreamARN: `arn:aws:kinesisvideo:us-east-1:0:stream/${name}/2` });
      }
      if (req.url === '/getDataEndpoint') {
        if (!streams.has(name)) return json(404, { Message: 'not found' }, 'ResourceNotFoundException:');
        return json(200, { DataEndpoint: 'http://data.example:9000/' });
      }
      json(404, { Message: 'unknown' }, 'UnknownOperationException');
    };
  }

  it('describes an existing stream without creating it', async () => {
    const calls: string[] = [];
    const url = await serve(controlPlane(new Set(['a']), calls));
    expect(await ensureStream(url, 'a', true, testCredentials)).toEqual({ streamArn: 'arn:aws:kinesisvideo:us-east-1:0:stream/a/1', created: false });
    expect(calls).toEqual(['/describeStream {"StreamName":"a"}']);
  });

  it('creates a missing stream with 24 h retention when asked', async () => {
    const calls: string[] = [];
    const url = await serve(controlPlane(new Set(), calls));
    expect((await ensureStream(url, 'b', true, testCredentials)).created).toBe(true);
    expect(calls[1]).toBe('/createStream {"StreamName":"b","DataRetentionInHours":24}');
  });

  it('throws StreamNotFoundError naming ResourceNotFoundException when not asked to create', async () => {
    const url = await serve(controlPlane(new Set(), []));
    const err = await ensureStream(url, 'c', false, testCredentials).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamNotFoundError);
    expect((err as Error).message).toMatch(/^ResourceNotFoundException: stream "c" does not exist/);
  });

  it('returns the data endpoint without a trailing slash and maps SDK errors', async () => {
    const url = await serve(controlPlane(new Set(['d']), []));
    expect(await dataEndpoint(url, 'd', 'PUT_MEDIA', testCredentials)).toBe('http://data.example:9000');
    const err = await dataEndpoint(url, 'missing', 'PUT_MEDIA', testCredentials).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KvsClientError);
    expect((err as KvsClientError).errorType).toBe('ResourceNotFoundException');
  });
});

/**
 * Requests the server refuses (issue 8 item 4): non-JSON bodies, foreign Host and Origin headers,
 * oversized bodies, and KVS's per-stream call quotas.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, DescribeStreamCommand, GetDataEndpointCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { defaultServerLimits } from '../../src/config.ts';
import { startTestServer, sdkConfig, type TestServer } from '../support/server.ts';
import { signedFetch, signedHeaders } from '../support/auth.ts';

let srv: TestServer;
let kv: KinesisVideoClient;
let arn: string;

beforeAll(async () => {
  srv = await startTestServer({ limits: defaultServerLimits({ allowedHosts: ['cams.example'] }) });
  kv = new KinesisVideoClient(sdkConfig(srv.url));
  arn = (await kv.send(new CreateStreamCommand({ StreamName: 'precious', DataRetentionInHours: 1 }))).StreamARN!;
});
afterAll(async () => {
  kv?.destroy();
  await srv?.close();
});

/**
 * A raw, signed request with an arbitrary Host header (fetch would not let us set it). The signature
 * covers the Host that is sent, so only the host screening can tell a foreign one apart.
 */
function raw(path: string, headers: Record<string, string>, body = '{}'): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const { host, ...rest } = headers;
  const signedFor = host ? `http://${host}${path}` : `${srv.url}${path}`;
  const signed = signedHeaders('POST', signedFor, { 'content-type': 'application/json', ...rest }, Buffer.from(body));
  return new Promise((resolve, reject) => {
    const req = http.request(`${srv.url}${path}`, { method: 'POST', headers: { ...signed, ...(host ? { host } : {}) } });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const errorName = (h: http.IncomingHttpHeaders | Headers) =>
  (h instanceof Headers ? h.get('x-amzn-errortype') : (h['x-amzn-errortype'] as string | undefined))?.split(':')[0];

describe('the curl reproduction from the issue', () => {
  it('refuses DeleteStream sent as text/plain from another origin, and the stream survives', async () => {
    const port = new URL(srv.url).port;
    const res = await raw('/deleteStream', { 'content-type': 'text/plain', origin: 'http://evil.example', host: `127.0.0.1:${port}` }, JSON.stringify({ StreamARN: arn }));
    expect(res.status).toBe(403);
    expect(errorName(res.headers)).toBe('ForbiddenException');
    // Without the Origin, the text/plain body alone is refused too.
    const plain = await signedFetch(`${srv.url}/deleteStream`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ StreamARN: arn }) });
    expect(plain.status).toBe(415);
    expect(errorName(plain.headers)).toBe('UnsupportedMediaTypeException');
    expect(((await plain.json()) as { Message: string }).Message).toMatch(/application\/json/);
    expect((await kv.send(new DescribeStreamCommand({ StreamName: 'precious' }))).StreamInfo?.Status).toBe('ACTIVE');
  });
});

describe('Host and Origin', () => {
  it('refuses a Host that is not this server (DNS rebinding) and accepts loopback names and --allowed-host', async () => {
    const port = new URL(srv.url).port;
    const rebound = await raw('/listStreams', { host: `evil.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(errorName(rebound.headers)).toBe('ForbiddenException');
    expect(rebound.text).toMatch(/--allowed-host/);
    expect((await raw('/listStreams', { host: `localhost:${port}` })).status).toBe(200);
    expect((await raw('/listStreams', { host: `[::1]:${port}` })).status).toBe(200);
    const otherPort = await raw('/listStreams', { host: `localhost:${Number(port) + 1}` });
    expect(otherPort.status).toBe(403);
    expect(errorName(otherPort.headers)).toBe('ForbiddenException');
    expect((await raw('/listStreams', { host: 'cams.example' })).status).toBe(200);
    expect((await raw('/listStreams', { host: `cams.example:${port}` })).status).toBe(200);
  });

  it('refuses cross-origin calls but serves same-origin ones and token-carrying playback GETs', async () => {
    const port = new URL(srv.url).port;
    expect((await raw('/listStreams', { origin: `http://127.0.0.1:${port}` })).status).toBe(200);
    expect((await raw('/listStreams', { origin: 'https://cams.example' })).status).toBe(200);
    const opaque = await raw('/listStreams', { origin: 'null' });
    expect(opaque.status).toBe(403);
    expect(errorName(opaque.headers)).toBe('ForbiddenException');
    const viewerApi = await signedFetch(`${srv.url}/api/v1/streams`, { headers: { origin: 'http://evil.example' } });
    expect(viewerApi.status).toBe(403);
    expect(errorName(viewerApi.headers)).toBe('ForbiddenException');
    // HLS resources carry their session token; a foreign page may fetch them (the token decides).
    const hls = await signedFetch(`${srv.url}/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=bogus`, { headers: { origin: 'http://player.example' } });
    expect(hls.status).not.toBe(403);
  });
});

describe('request bodies', () => {
  it('answers 413 to a declared length over 1 MiB without reading the body, and closes the connection', async () => {
    const res = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      // Signed (the body hash is moot: the server must refuse on the declared length alone).
      const headers = { ...signedHeaders('POST', `${srv.url}/describeStream`, { 'content-type': 'application/json' }), 'content-length': String(50 * 1024 * 1024) };
      const req = http.request(`${srv.url}/describeStream`, { method: 'POST', headers });
      req.on('response', (r) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, text }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
      req.write('{"StreamName":"');
      // The rest of the 50 MB is never sent: the answer must not wait for it.
    });
    expect(res.status).toBe(413);
    expect(errorName(res.headers)).toBe('RequestEntityTooLargeException');
    expect(res.headers.connection).toBe('close');
  });

  it('answers 413 to a chunked body that grows past 1 MiB', async () => {
    const huge = JSON.stringify({ StreamName: 'x', Pad: 'p'.repeat(1_100_000) });
    const res = await raw('/describeStream', { 'transfer-encoding': 'chunked' }, huge);
    expect(res.status).toBe(413);
    expect(errorName(res.headers)).toBe('RequestEntityTooLargeException');
  });

  it('refuses non-JSON bodies on /api/v1 too', async () => {
    const res = await signedFetch(`${srv.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'stream=precious' });
    expect(res.status).toBe(415);
  });
});

describe('per-stream call quotas', () => {
  it('throttles GetDataEndpoint on one stream with ClientLimitExceededException, other streams unaffected', async () => {
    await kv.send(new CreateStreamCommand({ StreamName: 'busy', DataRetentionInHours: 1 }));
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => kv.send(new GetDataEndpointCommand({ StreamName: 'busy', APIName: 'GET_MEDIA' }))));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'ClientLimitExceededException', $metadata: { httpStatusCode: 400 } });
    expect((await kv.send(new GetDataEndpointCommand({ StreamName: 'precious', APIName: 'GET_MEDIA' }))).DataEndpoint).toBe(srv.url);
    expect(srv.server.edge!().refused.callRate).toBe(refused.length);
  });
});

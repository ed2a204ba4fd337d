/**
 * Control plane at the raw HTTP level: what hand-rolled clients (C producer, curl) can send that the SDK never does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { signedFetch } from '../support/auth.ts';

let server: TestServer;
let seq = 0;
const uniqueName = (base: string) => `${base}-${process.pid}-${++seq}`;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

function post(path: string, body: string | undefined, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return signedFetch(`${server.url}${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
}

async function expectError(res: Response, status: number, name: string): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('x-amzn-errortype')?.split(':')[0]).toBe(name);
  expect(res.headers.get('x-amzn-requestid')).toBeTruthy();
  const body = (await res.json()) as { Message?: unknown };
  expect(typeof body.Message).toBe('string');
  return body.Message as string;
}

describe('control plane over raw HTTP', () => {
  it('answers malformed JSON with 400 InvalidArgumentException', async () => {
    await expectError(await post('/createStream', '{"StreamName":'), 400, 'InvalidArgumentException');
    await expectError(await post('/describeStream', 'not json'), 400, 'InvalidArgumentException');
  });

  it('rejects bodies that are JSON but not an object', async () => {
    await expectError(await post('/describeStream', '[]'), 400, 'InvalidArgumentException');
    await expectError(await post('/describeStream', '"s1"'), 400, 'InvalidArgumentException');
  });

  it('rejects a body over 1 MiB with 413, not a 500', async () => {
    const huge = JSON.stringify({ StreamName: 'x', Pad: 'p'.repeat(1_100_000) });
    await expectError(await post('/describeStream', huge), 413, 'RequestEntityTooLargeException');
  });

  it('treats an empty body as {} and refuses bodies that are not declared JSON', async () => {
    const list = await post('/listStreams', undefined, {});
    expect(list.status).toBe(200);
    expect(await list.json()).toHaveProperty('StreamInfoList');

    // The C producer's hand-built JSON, with tabs and newlines (it sends content-type application/json).
    const name = uniqueName('raw');
    const body = `{\n\t"DeviceName": "Kinesis_Video_Device",\n\t"StreamName": "${name}",\n\t"MediaType": "video/h264",\n\t"DataRetentionInHours": 2\n}`;
    // text/plain is what a page on another site can send without a CORS preflight: refused.
    await expectError(await post('/createStream', body, { 'content-type': 'text/plain' }), 415, 'UnsupportedMediaTypeException');
    const res = await post('/createStream', body, { 'content-type': 'application/json; charset=utf-8' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await res.json()) as { StreamARN: string }).StreamARN).toContain(`:stream/${name}/`);

    const described = await post('/describeStream', `{"StreamName": "${name}"}`);
    const text = await described.text();
    // The producer parses DataRetentionInHours with STRTOUI64 and CreationTime as a number.
    expect(text).toMatch(/"DataRetentionInHours":2[,}]/);
    expect(text).toMatch(/"CreationTime":\d+(\.\d+)?[,}]/);
  });

  it('names the member when a number arrives as a string', async () => {
    const msg = await expectError(
      await post('/createStream', JSON.stringify({ StreamName: uniqueName('t'), DataRetentionInHours: '24' })),
      400,
      'InvalidArgumentException',
    );
    expect(msg).toContain('DataRetentionInHours');
    const msg2 = await expectError(await post('/listStreams', '{"MaxResults":"5"}'), 400, 'InvalidArgumentException');
    expect(msg2).toContain('MaxResults');
  });

  it('ignores unknown members and treats null members as absent', async () => {
    const name = uniqueName('nul');
    const res = await post('/createStream', JSON.stringify({ StreamName: name, MediaType: null, Whatever: { a: 1 } }));
    expect(res.status).toBe(200);
    const described = await post('/describeStream', JSON.stringify({ StreamName: name, StreamARN: null }));
    expect(described.status).toBe(200);
  });

  it('sends x-amzn-RequestId on success', async () => {
    const res = await post('/listStreams', '{}');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown or wrongly-cased paths with an error instead of hanging', async () => {
    await expectError(await post('/noSuchOperation', '{}'), 404, 'UnknownOperationException');
    await expectError(await post('/DescribeStream', '{}'), 404, 'UnknownOperationException');
    await expectError(await post('/tagresource', '{}'), 404, 'UnknownOperationException');
    const get = await signedFetch(`${server.url}/describeStream`, { signal: AbortSignal.timeout(5000) });
    expect(get.status).toBeGreaterThanOrEqual(400);
  });

  it('answers every unimplemented control-plane path with 501 NotImplementedException', async () => {
    const paths = [
      '/createSignalingChannel',
      '/describeSignalingChannel',
      '/listSignalingChannels',
      '/updateSignalingChannel',
      '/deleteSignalingChannel',
      '/getSignalingChannelEndpoint',
      '/describeMediaStorageConfiguration',
      '/updateMediaStorageConfiguration',
      '/describeMappedResourceConfiguration',
      '/startEdgeConfigurationUpdate',
      '/describeEdgeConfiguration',
      '/deleteEdgeConfiguration',
      '/listEdgeAgentConfigurations',
    ];
    for (const path of paths) {
      const msg = await expectError(await post(path, '{}'), 501, 'NotImplementedException');
      expect(msg).toContain('Kestrel does not implement');
    }
  });
});

/**
 * Authentication end to end with the real AWS SDK v3: the right key works on the control plane,
 * GetMedia and archived media; no key, an unknown key, a wrong secret, another region or a skewed
 * clock get the AWS exceptions. Roles: a producer writes only to its scope, a viewer only reads,
 * a revoked key stops working at once; the admin API is for admins.
 */
import { CreateStreamCommand, DeleteStreamCommand, DescribeStreamCommand, KinesisVideoClient, ListStreamsCommand } from '@aws-sdk/client-kinesis-video';
import { GetMediaCommand, KinesisVideoMediaClient } from '@aws-sdk/client-kinesis-video-media';
import { KinesisVideoArchivedMediaClient, ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { mkvClusters, mkvHeader } from '../support/synthetic-mkv.ts';
import { collect } from '../support/get-media-reader.ts';
import { expectKvsError } from '../support/kvs-sdk.ts';
import { signedFetch, signedHeaders, testCredentials } from '../support/auth.ts';
import type { Credentials } from '../../src/auth/sigv4.ts';

const T0 = 1_700_000_000_000;
let srv: TestServer;
let admin: KinesisVideoClient;

const client = (credentials: Credentials, extra: Record<string, unknown> = {}) => new KinesisVideoClient({ ...sdkConfig(srv.url), credentials, ...extra });
const body = () => [Buffer.concat([mkvHeader(), ...mkvClusters(2, T0)])];

async function newKey(user: string, role: string, producerScope?: string[]): Promise<Credentials> {
  const created = await signedFetch(`${srv.url}/api/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: user, role, ...(producerScope ? { producerScope } : {}) }) });
  expect(created.status).toBe(201);
  const key = await signedFetch(`${srv.url}/api/v1/users/${user}/keys`, { method: 'POST' });
  expect(key.status).toBe(201);
  return (await key.json()) as Credentials;
}

beforeAll(async () => {
  srv = await startTestServer();
  admin = client(testCredentials);
  await admin.send(new CreateStreamCommand({ StreamName: 'cam', DataRetentionInHours: 24 }));
  const put = await rawPutMedia(srv.url, 'cam', body());
  expect(put.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(2);
});
afterAll(async () => {
  admin?.destroy();
  await srv?.close();
});

describe('SigV4 with the AWS SDK v3', () => {
  it('the right key works on the control plane, GetMedia and archived media', async () => {
    expect((await admin.send(new ListStreamsCommand({}))).StreamInfoList?.map((s) => s.StreamName)).toContain('cam');
    const media = new KinesisVideoMediaClient(sdkConfig(srv.url));
    const out = await media.send(new GetMediaCommand({ StreamName: 'cam', StartSelector: { StartSelectorType: 'EARLIEST' } }));
    const got = await collect(out.Payload as never, (c) => c.complete.length >= 2, 10_000);
    expect(got.complete.length).toBeGreaterThanOrEqual(2);
    const archive = new KinesisVideoArchivedMediaClient(sdkConfig(srv.url));
    const list = await archive.send(new ListFragmentsCommand({ StreamName: 'cam' }));
    expect(list.Fragments).toHaveLength(2);
    media.destroy();
    archive.destroy();
  });

  it('an unknown key is UnrecognizedClientException, a wrong secret InvalidSignatureException (403)', async () => {
    await expectKvsError(client({ accessKeyId: 'AKIDNOBODY000000', secretAccessKey: 'x'.repeat(40) }).send(new ListStreamsCommand({})), 'UnrecognizedClientException', 403);
    const err = await expectKvsError(client({ ...testCredentials, secretAccessKey: 'wrong-secret' }).send(new ListStreamsCommand({})), 'InvalidSignatureException', 403);
    expect(err.message).toMatch(/signature we calculated does not match/);
    const archive = new KinesisVideoArchivedMediaClient({ ...sdkConfig(srv.url), credentials: { ...testCredentials, secretAccessKey: 'wrong-secret' } });
    await expectKvsError(archive.send(new ListFragmentsCommand({ StreamName: 'cam' })), 'InvalidSignatureException', 403);
    const media = new KinesisVideoMediaClient({ ...sdkConfig(srv.url), credentials: { accessKeyId: 'AKIDNOBODY000000', secretAccessKey: 'x' } });
    await expectKvsError(media.send(new GetMediaCommand({ StreamName: 'cam', StartSelector: { StartSelectorType: 'NOW' } })), 'UnrecognizedClientException', 403);
  });

  it('another region and a clock 20 minutes off are refused with InvalidSignatureException', async () => {
    const region = await expectKvsError(client(testCredentials, { region: 'eu-west-1' }).send(new ListStreamsCommand({})), 'InvalidSignatureException', 403);
    expect(region.message).toMatch(/valid region, not 'eu-west-1'/);
    const late = await expectKvsError(client(testCredentials, { systemClockOffset: -20 * 60_000 }).send(new ListStreamsCommand({})), 'InvalidSignatureException', 403);
    expect(late.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    const early = await expectKvsError(client(testCredentials, { systemClockOffset: 20 * 60_000 }).send(new ListStreamsCommand({})), 'InvalidSignatureException', 403);
    expect(early.message).toMatch(/^Signature not yet current/);
  });

  it('unsigned requests get MissingAuthenticationTokenException; a body that does not match its hash is refused', async () => {
    for (const op of ['listStreams', 'deleteStream', 'getMedia', 'listFragments', 'getHLSStreamingSessionURL', 'getDataEndpoint', 'getClip']) {
      const res = await fetch(`${srv.url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"StreamName":"cam"}' });
      expect(res.status, op).toBe(403);
      expect(res.headers.get('x-amzn-errortype')?.split(':')[0], op).toBe('MissingAuthenticationTokenException');
      expect(((await res.json()) as { Message: string }).Message).toBe('Missing Authentication Token');
    }
    const unsignedPut = await rawPutMedia(srv.url, 'cam', body(), {}, undefined, null);
    expect(unsignedPut.status).toBe(403);
    expect(unsignedPut.headers['x-amzn-errortype']).toMatch(/^MissingAuthenticationTokenException/);
    // Signed for one body, sent with another.
    const url = `${srv.url}/describeStream`;
    const headers = signedHeaders('POST', url, { 'content-type': 'application/json' }, Buffer.from('{"StreamName":"cam"}'));
    const swapped = await fetch(url, { method: 'POST', headers, body: '{"StreamName":"cam2"}' });
    expect(swapped.status).toBe(403);
    expect(swapped.headers.get('x-amzn-errortype')).toMatch(/^InvalidSignatureException/);
    const lying = await fetch(url, { method: 'POST', headers: { ...headers, 'x-amz-content-sha256': 'a'.repeat(64) }, body: '{"StreamName":"cam"}' });
    expect(lying.status).toBe(403);
    expect(((await lying.json()) as { Message: string }).Message).toMatch(/x-amz-content-sha256/);
    // Nothing was deleted along the way.
    expect((await admin.send(new DescribeStreamCommand({ StreamName: 'cam' }))).StreamInfo?.Status).toBe('ACTIVE');
  });
});

describe('roles', () => {
  it('a producer writes only to its scope and cannot delete or list', async () => {
    await admin.send(new CreateStreamCommand({ StreamName: 'garage-1', DataRetentionInHours: 24 }));
    await admin.send(new CreateStreamCommand({ StreamName: 'kitchen', DataRetentionInHours: 24 }));
    const key = await newKey('garage-cam', 'producer', ['garage-*']);
    const ok = await rawPutMedia(srv.url, 'garage-1', body(), {}, undefined, key);
    expect(ok.status).toBe(200);
    expect(ok.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(2);
    const denied = await rawPutMedia(srv.url, 'kitchen', body(), {}, undefined, key);
    expect(denied.status).toBe(403);
    expect(denied.headers['x-amzn-errortype']).toMatch(/^AccessDeniedException/);
    expect(JSON.parse(denied.body).Message).toMatch(/garage-cam is not authorized to perform: kinesisvideo:PutMedia on stream kitchen/);
    const kv = client(key);
    expect((await kv.send(new DescribeStreamCommand({ StreamName: 'garage-1' }))).StreamInfo?.StreamName).toBe('garage-1');
    await expectKvsError(kv.send(new DescribeStreamCommand({ StreamName: 'kitchen' })), 'AccessDeniedException', 403);
    await expectKvsError(kv.send(new DeleteStreamCommand({ StreamARN: (await admin.send(new DescribeStreamCommand({ StreamName: 'garage-1' }))).StreamInfo!.StreamARN! })), 'AccessDeniedException', 403);
    await expectKvsError(kv.send(new ListStreamsCommand({})), 'AccessDeniedException', 403);
    expect((await admin.send(new DescribeStreamCommand({ StreamName: 'garage-1' }))).StreamInfo?.Status).toBe('ACTIVE');
  });

  it('a viewer reads but cannot write', async () => {
    const key = await newKey('watcher', 'viewer');
    const kv = client(key);
    expect((await kv.send(new ListStreamsCommand({}))).StreamInfoList?.length).toBeGreaterThan(0);
    const archive = new KinesisVideoArchivedMediaClient({ ...sdkConfig(srv.url), credentials: key });
    expect((await archive.send(new ListFragmentsCommand({ StreamName: 'cam' }))).Fragments).toHaveLength(2);
    await expectKvsError(kv.send(new CreateStreamCommand({ StreamName: 'nope' })), 'AccessDeniedException', 403);
    const put = await rawPutMedia(srv.url, 'cam', body(), {}, undefined, key);
    expect(put.status).toBe(403);
    const jobs = await signedFetch(`${srv.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"stream":"cam","start":0,"end":1}' }, key);
    expect(jobs.status).toBe(403);
    expect((await signedFetch(`${srv.url}/api/v1/events?stream=cam`, {}, key)).status).toBe(200);
    archive.destroy();
  });

  it('a revoked key stops working at once', async () => {
    const key = await newKey('temp', 'operator');
    const kv = client(key);
    await kv.send(new ListStreamsCommand({}));
    const revoked = await signedFetch(`${srv.url}/api/v1/keys/${key.accessKeyId}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    await expectKvsError(kv.send(new ListStreamsCommand({})), 'UnrecognizedClientException', 403);
    expect((await signedFetch(`${srv.url}/api/v1/keys/${key.accessKeyId}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('the admin API needs an admin: 401 without credentials, 403 for other roles', async () => {
    const key = await newKey('ops', 'operator');
    expect((await fetch(`${srv.url}/api/v1/users`)).status).toBe(401);
    expect((await fetch(`${srv.url}/api/v1/events?stream=cam`)).status).toBe(401);
    const forbidden = await signedFetch(`${srv.url}/api/v1/users`, {}, key);
    expect(forbidden.status).toBe(403);
    const list = (await (await signedFetch(`${srv.url}/api/v1/users`)).json()) as { users: Array<{ name: string; role: string }> };
    expect(list.users).toContainEqual(expect.objectContaining({ name: 'admin', role: 'admin' }));
    const keys = await (await signedFetch(`${srv.url}/api/v1/keys`)).text();
    expect(keys).toContain(key.accessKeyId);
    expect(keys).not.toContain(key.secretAccessKey);
    // The last admin can be neither removed nor demoted.
    expect((await signedFetch(`${srv.url}/api/v1/users/admin`, { method: 'DELETE' })).status).toBe(400);
    expect((await signedFetch(`${srv.url}/api/v1/users/admin`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"role":"viewer"}' })).status).toBe(400);
  });
});

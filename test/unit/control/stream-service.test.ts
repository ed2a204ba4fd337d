import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamService, type StreamServiceOptions } from '../../../src/control/stream-service.ts';
import { KvsError } from '../../../src/shared/errors.ts';
import { openSqlite, type SqliteDb } from '../../../src/store/sqlite-db.ts';
import { SqliteStreamRepository } from '../../../src/store/sqlite-streams.ts';

let db: SqliteDb;
const now = 1_700_000_000_123;
const clock = { now: () => now };

function makeService(extra: Partial<StreamServiceOptions> = {}): StreamService {
  return new StreamService({
    repo: new SqliteStreamRepository(db),
    clock,
    region: 'eu-west-1',
    accountId: '123456789012',
    dataEndpoint: () => 'http://kestrel.local:8080/',
    ...extra,
  });
}

async function kvsError(p: Promise<unknown>): Promise<KvsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KvsError);
  return err as KvsError;
}

beforeEach(() => {
  db = openSqlite(':memory:');
});
afterEach(() => db.close());

describe('StreamService', () => {
  it('builds the ARN, CreationTime and KmsKeyId from clock, region and account', async () => {
    const svc = makeService();
    const { StreamARN } = await svc.createStream({ StreamName: 's1' });
    expect(StreamARN).toBe('arn:aws:kinesisvideo:eu-west-1:123456789012:stream/s1/1700000000123');
    const { StreamInfo } = await svc.describeStream({ StreamARN });
    expect(StreamInfo.CreationTime).toBe(1_700_000_000.123);
    expect(StreamInfo.KmsKeyId).toBe('arn:aws:kms:eu-west-1:123456789012:alias/aws/kinesisvideo');
    expect(StreamInfo).not.toHaveProperty('MediaType');
  });

  it('resolve() needs exactly one of StreamName / StreamARN, and 404s unknown streams', async () => {
    const svc = makeService();
    const { StreamARN } = await svc.createStream({ StreamName: 's1' });
    expect((await svc.resolve({ StreamName: 's1' })).arn).toBe(StreamARN);
    expect((await svc.resolve({ StreamARN })).name).toBe('s1');
    expect((await svc.resolve({ StreamName: 's1', StreamARN: undefined })).name).toBe('s1');
    expect((await kvsError(svc.resolve({}))).kvsName).toBe('InvalidArgumentException');
    expect((await kvsError(svc.resolve({ StreamName: 's1', StreamARN }))).kvsName).toBe('InvalidArgumentException');
    expect((await kvsError(svc.resolve({ StreamName: 42 }))).kvsName).toBe('InvalidArgumentException');
    expect((await kvsError(svc.resolve({ StreamARN: 'arn:nope' }))).kvsName).toBe('InvalidArgumentException');
    const missing = await kvsError(svc.resolve({ StreamName: 'ghost' }));
    expect([missing.kvsName, missing.status]).toEqual(['ResourceNotFoundException', 404]);
  });

  it('getById() returns the record or undefined', async () => {
    const svc = makeService();
    await svc.createStream({ StreamName: 's1' });
    const rec = await svc.resolve({ StreamName: 's1' });
    expect((await svc.getById(rec.id))?.name).toBe('s1');
    expect(await svc.getById(rec.id + 1000)).toBeUndefined();
  });

  it('enforces the configured stream limit', async () => {
    const svc = makeService({ maxStreams: 2 });
    await svc.createStream({ StreamName: 'a' });
    await svc.createStream({ StreamName: 'b' });
    expect((await kvsError(svc.createStream({ StreamName: 'c' }))).kvsName).toBe('AccountStreamLimitExceededException');
  });

  it('strips a trailing slash from the data endpoint', async () => {
    const svc = makeService();
    await svc.createStream({ StreamName: 's1' });
    expect(await svc.getDataEndpoint({ StreamName: 's1', APIName: 'GET_MEDIA' })).toEqual({ DataEndpoint: 'http://kestrel.local:8080' });
  });

  it('calls onStreamDeleted with the DELETING record before removing it', async () => {
    const seen: string[] = [];
    const svc = makeService({
      onStreamDeleted: async (s) => {
        seen.push(`${s.name}:${s.status}`);
        expect((await svc.resolve({ StreamName: s.name })).status).toBe('DELETING');
      },
    });
    const { StreamARN } = await svc.createStream({ StreamName: 's1' });
    await svc.deleteStream({ StreamARN });
    expect(seen).toEqual(['s1:DELETING']);
    expect((await kvsError(svc.describeStream({ StreamName: 's1' }))).status).toBe(404);
  });

  it('keeps the stream ACTIVE when onStreamDeleted fails', async () => {
    const svc = makeService({ onStreamDeleted: async () => Promise.reject(new Error('disk on fire')) });
    const { StreamARN } = await svc.createStream({ StreamName: 's1' });
    await expect(svc.deleteStream({ StreamARN })).rejects.toThrow('disk on fire');
    expect((await svc.describeStream({ StreamARN })).StreamInfo.Status).toBe('ACTIVE');
  });

  it('serializes concurrent changes: no tag is lost and only one CurrentVersion wins', async () => {
    const svc = makeService();
    await svc.createStream({ StreamName: 's1' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => svc.tagStream({ StreamName: 's1', Tags: { [`k${i}`]: 'v' } })));
    expect(Object.keys((await svc.listTagsForStream({ StreamName: 's1' })).Tags)).toHaveLength(20);

    const version = (await svc.describeStream({ StreamName: 's1' })).StreamInfo.Version;
    const results = await Promise.allSettled(
      ['video/h264', 'video/h265'].map((MediaType) => svc.updateStream({ StreamName: 's1', CurrentVersion: version, MediaType })),
    );
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('changes Version on every Update* but not on tagging', async () => {
    const svc = makeService();
    await svc.createStream({ StreamName: 's1', DataRetentionInHours: 1 });
    const version = async () => (await svc.describeStream({ StreamName: 's1' })).StreamInfo.Version;
    const v0 = await version();
    await svc.tagStream({ StreamName: 's1', Tags: { a: 'b' } });
    expect(await version()).toBe(v0);
    await svc.updateNotificationConfiguration({
      StreamName: 's1',
      NotificationConfiguration: { Status: 'ENABLED', DestinationConfig: { Uri: 'arn:aws:sns:eu-west-1:1:t' } },
    });
    const v1 = await version();
    expect(v1).not.toBe(v0);
    await svc.updateStreamStorageConfiguration({ StreamName: 's1', CurrentVersion: v1, StreamStorageConfiguration: { DefaultStorageTier: 'WARM' } });
    expect(await version()).not.toBe(v1);
  });

  it('lets a stream with retention 0 delete its configurations', async () => {
    const svc = makeService();
    await svc.createStream({ StreamName: 's0' });
    await svc.updateImageGenerationConfiguration({ StreamName: 's0', ImageGenerationConfiguration: null });
    await svc.updateNotificationConfiguration({ StreamName: 's0' });
    expect(await svc.describeImageGenerationConfiguration({ StreamName: 's0' })).toEqual({});
  });
});

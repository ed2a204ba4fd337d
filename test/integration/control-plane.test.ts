/**
 * Streams, listing, updates, deletion, endpoints and unsupported operations through the real AWS SDK v3
 * client over HTTP (kvs-api.md §8.2). Tags and configurations: control-plane-tags-configs.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateSignalingChannelCommand,
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamCommand,
  DescribeStreamStorageConfigurationCommand,
  GetDataEndpointCommand,
  KinesisVideoClient,
  ListStreamsCommand,
  ListTagsForStreamCommand,
  UpdateDataRetentionCommand,
  UpdateStreamCommand,
  paginateListStreams,
  type APIName,
} from '@aws-sdk/client-kinesis-video';
import { startControlOnlyServer } from '../support/control-only-server.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { createAndDescribe, expectKvsError } from '../support/kvs-sdk.ts';

let server: TestServer;
let kv: KinesisVideoClient;
let seq = 0;
/** Unique per test so tests never see each other's streams. */
const uniqueName = (base: string) => `${base}-${process.pid}-${++seq}`;

beforeAll(async () => {
  server = await startTestServer();
  kv = new KinesisVideoClient(sdkConfig(server.url));
});
afterAll(async () => {
  kv?.destroy();
  await server?.close();
});

describe('CreateStream / DescribeStream', () => {
  it('creates an ACTIVE stream with KVS-shaped fields and defaults', async () => {
    const name = uniqueName('basic');
    const before = Date.now();
    const { arn, info } = await createAndDescribe(kv, name);
    expect(arn).toMatch(new RegExp(`^arn:aws:kinesisvideo:us-east-1:[0-9]{12}:stream/${name}/[0-9]{13}$`));
    expect(info.StreamARN).toBe(arn);
    expect(info.StreamName).toBe(name);
    expect(info.Status).toBe('ACTIVE');
    expect(info.Version).toMatch(/^[a-zA-Z0-9]{20}$/);
    expect(info.DataRetentionInHours).toBe(0);
    expect(info.KmsKeyId).toBe('arn:aws:kms:us-east-1:000000000000:alias/aws/kinesisvideo');
    expect(info.MediaType).toBeUndefined();
    expect(info.CreationTime).toBeInstanceOf(Date);
    expect(info.CreationTime!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(info.CreationTime!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(arn.endsWith(`/${info.CreationTime!.getTime()}`)).toBe(true);
  });

  it('stores every optional member and finds the stream by ARN too', async () => {
    const name = uniqueName('full');
    const { arn } = await createAndDescribe(kv, name, {
      DeviceName: 'Kinesis_Video_Device',
      MediaType: 'video/h264,audio/aac',
      KmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/abc',
      DataRetentionInHours: 24,
      Tags: { owner: 'cam-1', site: '' },
      StreamStorageConfiguration: { DefaultStorageTier: 'WARM' },
    });
    const { StreamInfo } = await kv.send(new DescribeStreamCommand({ StreamARN: arn }));
    expect(StreamInfo).toMatchObject({
      DeviceName: 'Kinesis_Video_Device',
      MediaType: 'video/h264,audio/aac',
      KmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/abc',
      DataRetentionInHours: 24,
    });
    const tags = await kv.send(new ListTagsForStreamCommand({ StreamARN: arn }));
    expect(tags.Tags).toEqual({ owner: 'cam-1', site: '' });
    const storage = await kv.send(new DescribeStreamStorageConfigurationCommand({ StreamName: name }));
    expect(storage).toMatchObject({ StreamName: name, StreamARN: arn, StreamStorageConfiguration: { DefaultStorageTier: 'WARM' } });
  });

  it('refuses a duplicate name with ResourceInUseException (400)', async () => {
    const name = uniqueName('dup');
    await createAndDescribe(kv, name);
    await expectKvsError(kv.send(new CreateStreamCommand({ StreamName: name })), 'ResourceInUseException', 400);
  });

  it('answers 404 ResourceNotFoundException for an unknown stream, by name or ARN', async () => {
    await expectKvsError(kv.send(new DescribeStreamCommand({ StreamName: uniqueName('nope') })), 'ResourceNotFoundException', 404);
    const arn = 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/nope/1700000000000';
    await expectKvsError(kv.send(new DescribeStreamCommand({ StreamARN: arn })), 'ResourceNotFoundException', 404);
  });

  it('rejects invalid input with InvalidArgumentException', async () => {
    const bad = (p: Promise<unknown>) => expectKvsError(p, 'InvalidArgumentException', 400);
    await bad(kv.send(new CreateStreamCommand({} as never)));
    await bad(kv.send(new CreateStreamCommand({ StreamName: 'has space' })));
    await bad(kv.send(new CreateStreamCommand({ StreamName: 'x'.repeat(257) })));
    await bad(kv.send(new CreateStreamCommand({ StreamName: uniqueName('r'), DataRetentionInHours: 87_601 })));
    await bad(kv.send(new CreateStreamCommand({ StreamName: uniqueName('r'), DataRetentionInHours: -1 })));
    await bad(kv.send(new CreateStreamCommand({ StreamName: uniqueName('m'), MediaType: 'h264' })));
    await bad(kv.send(new DescribeStreamCommand({})));
    const err = await bad(kv.send(new ListStreamsCommand({ MaxResults: 0 })));
    expect(err.message).toContain('MaxResults');
    await bad(kv.send(new ListStreamsCommand({ MaxResults: 10_001 })));
  });
});

describe('ListStreams', () => {
  it('pages with MaxResults=1 and filters with BEGINS_WITH', async () => {
    const prefix = uniqueName('list');
    const names = ['c', 'a', 'b'].map((s) => `${prefix}-${s}`);
    for (const n of names) await kv.send(new CreateStreamCommand({ StreamName: n }));
    await kv.send(new CreateStreamCommand({ StreamName: uniqueName('other') }));

    const condition = { ComparisonOperator: 'BEGINS_WITH' as const, ComparisonValue: prefix };
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListStreams({ client: kv, pageSize: 1 }, { StreamNameCondition: condition })) {
      pages++;
      for (const s of page.StreamInfoList ?? []) {
        expect(s.CreationTime).toBeInstanceOf(Date);
        seen.push(s.StreamName!);
      }
    }
    expect(seen).toEqual([...names].sort());
    expect(pages).toBeGreaterThanOrEqual(3);

    const first = await kv.send(new ListStreamsCommand({ MaxResults: 2, StreamNameCondition: condition }));
    expect(first.StreamInfoList).toHaveLength(2);
    expect(first.NextToken).toMatch(/^[a-zA-Z0-9+/=]+$/);
    const rest = await kv.send(new ListStreamsCommand({ MaxResults: 2, StreamNameCondition: condition, NextToken: first.NextToken }));
    expect(rest.StreamInfoList?.map((s) => s.StreamName)).toEqual([`${prefix}-c`]);
    expect(rest.NextToken).toBeUndefined();
  });

  it('rejects a NextToken it did not issue', async () => {
    await expectKvsError(kv.send(new ListStreamsCommand({ NextToken: 'Zm9v' })), 'InvalidArgumentException', 400);
  });
});

describe('UpdateStream / UpdateDataRetention / DeleteStream', () => {
  it('UpdateStream checks CurrentVersion and changes Version', async () => {
    const name = uniqueName('upd');
    const { info } = await createAndDescribe(kv, name, { MediaType: 'video/h264' });
    await expectKvsError(
      kv.send(new UpdateStreamCommand({ StreamName: name, CurrentVersion: 'stale', MediaType: 'video/h265' })),
      'VersionMismatchException',
      400,
    );
    await kv.send(new UpdateStreamCommand({ StreamName: name, CurrentVersion: info.Version!, MediaType: 'video/h265', DeviceName: 'cam2' }));
    const after = (await kv.send(new DescribeStreamCommand({ StreamName: name }))).StreamInfo!;
    expect(after.Version).not.toBe(info.Version);
    expect(after).toMatchObject({ MediaType: 'video/h265', DeviceName: 'cam2' });
    await expectKvsError(
      kv.send(new UpdateStreamCommand({ StreamName: name, CurrentVersion: info.Version!, MediaType: 'video/h264' })),
      'VersionMismatchException',
      400,
    );
  });

  it('UpdateDataRetention adds or subtracts the delta within 0..87600', async () => {
    const name = uniqueName('ret');
    let version = (await createAndDescribe(kv, name, { DataRetentionInHours: 10 })).info.Version!;
    const describe = async () => (await kv.send(new DescribeStreamCommand({ StreamName: name }))).StreamInfo!;
    await kv.send(new UpdateDataRetentionCommand({ StreamName: name, CurrentVersion: version, Operation: 'INCREASE_DATA_RETENTION', DataRetentionChangeInHours: 5 }));
    let info = await describe();
    expect(info.DataRetentionInHours).toBe(15);
    expect(info.Version).not.toBe(version);
    await expectKvsError(
      kv.send(new UpdateDataRetentionCommand({ StreamName: name, CurrentVersion: version, Operation: 'DECREASE_DATA_RETENTION', DataRetentionChangeInHours: 1 })),
      'VersionMismatchException',
      400,
    );
    version = info.Version!;
    await kv.send(new UpdateDataRetentionCommand({ StreamName: name, CurrentVersion: version, Operation: 'DECREASE_DATA_RETENTION', DataRetentionChangeInHours: 15 }));
    info = await describe();
    expect(info.DataRetentionInHours).toBe(0);
    await expectKvsError(
      kv.send(new UpdateDataRetentionCommand({ StreamName: name, CurrentVersion: info.Version!, Operation: 'DECREASE_DATA_RETENTION', DataRetentionChangeInHours: 1 })),
      'InvalidArgumentException',
      400,
    );
    await expectKvsError(
      kv.send(new UpdateDataRetentionCommand({ StreamName: name, CurrentVersion: info.Version!, Operation: 'DOUBLE' as never, DataRetentionChangeInHours: 1 })),
      'InvalidArgumentException',
      400,
    );
  });

  it('DeleteStream takes the ARN, checks CurrentVersion, then the stream is gone', async () => {
    const name = uniqueName('del');
    const { arn, info } = await createAndDescribe(kv, name);
    await expectKvsError(kv.send(new DeleteStreamCommand({ StreamName: name } as never)), 'InvalidArgumentException', 400);
    await expectKvsError(kv.send(new DeleteStreamCommand({ StreamARN: arn, CurrentVersion: 'stale' })), 'VersionMismatchException', 400);
    await kv.send(new DeleteStreamCommand({ StreamARN: arn, CurrentVersion: info.Version! }));
    await expectKvsError(kv.send(new DescribeStreamCommand({ StreamName: name })), 'ResourceNotFoundException', 404);
    await expectKvsError(kv.send(new DeleteStreamCommand({ StreamARN: arn })), 'ResourceNotFoundException', 404);
    // The name is free again.
    const again = await createAndDescribe(kv, name);
    expect(again.info.Status).toBe('ACTIVE');
  });
});

describe('GetDataEndpoint', () => {
  const apiNames: APIName[] = [
    'PUT_MEDIA',
    'GET_MEDIA',
    'LIST_FRAGMENTS',
    'GET_MEDIA_FOR_FRAGMENT_LIST',
    'GET_HLS_STREAMING_SESSION_URL',
    'GET_DASH_STREAMING_SESSION_URL',
    'GET_CLIP',
    'GET_IMAGES',
  ];

  it('returns this server as an absolute URL without trailing slash for all 8 APINames', async () => {
    const name = uniqueName('ep');
    await createAndDescribe(kv, name);
    for (const APIName of apiNames) {
      const { DataEndpoint } = await kv.send(new GetDataEndpointCommand({ StreamName: name, APIName }));
      expect(DataEndpoint).toMatch(/^https?:\/\/[^/]+(\/.*[^/])?$/);
      expect(DataEndpoint).toBe(server.url);
    }
  });

  it('rejects an unknown APIName and answers 404 for an unknown stream', async () => {
    const name = uniqueName('ep');
    await createAndDescribe(kv, name);
    await expectKvsError(kv.send(new GetDataEndpointCommand({ StreamName: name, APIName: 'GET_EVERYTHING' as APIName })), 'InvalidArgumentException', 400);
    await expectKvsError(kv.send(new GetDataEndpointCommand({ StreamName: uniqueName('ghost'), APIName: 'PUT_MEDIA' })), 'ResourceNotFoundException', 404);
  });
});

describe('unimplemented operations', () => {
  it('CreateSignalingChannel fails promptly with NotImplementedException', async () => {
    const started = Date.now();
    const err = await expectKvsError(kv.send(new CreateSignalingChannelCommand({ ChannelName: 'c' })), 'NotImplementedException', 501);
    expect(err.message).toContain('Kestrel does not implement CreateSignalingChannel');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('account stream limit', () => {
  it('answers AccountStreamLimitExceededException (400) past the configured maximum', async () => {
    const small = await startControlOnlyServer({ maxStreams: 2 });
    const client = new KinesisVideoClient(sdkConfig(small.url));
    try {
      await client.send(new CreateStreamCommand({ StreamName: 'one' }));
      await client.send(new CreateStreamCommand({ StreamName: 'two' }));
      await expectKvsError(client.send(new CreateStreamCommand({ StreamName: 'three' })), 'AccountStreamLimitExceededException', 400);
      // Deleting one frees a slot.
      const { StreamInfo } = await client.send(new DescribeStreamCommand({ StreamName: 'one' }));
      await client.send(new DeleteStreamCommand({ StreamARN: StreamInfo!.StreamARN! }));
      await client.send(new CreateStreamCommand({ StreamName: 'three' }));
    } finally {
      client.destroy();
      await small.close();
    }
  });
});

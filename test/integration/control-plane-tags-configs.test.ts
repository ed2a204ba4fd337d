/**
 * Tags (both wire forms) and the per-stream configurations through the real AWS SDK v3 client (kvs-api.md §8.2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand,
  DescribeImageGenerationConfigurationCommand,
  DescribeNotificationConfigurationCommand,
  DescribeStreamCommand,
  DescribeStreamStorageConfigurationCommand,
  KinesisVideoClient,
  ListTagsForResourceCommand,
  ListTagsForStreamCommand,
  TagResourceCommand,
  TagStreamCommand,
  UntagResourceCommand,
  UntagStreamCommand,
  UpdateImageGenerationConfigurationCommand,
  UpdateNotificationConfigurationCommand,
  UpdateStreamStorageConfigurationCommand,
  type ImageGenerationConfiguration,
} from '@aws-sdk/client-kinesis-video';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { createAndDescribe, expectKvsError } from '../support/kvs-sdk.ts';

let server: TestServer;
let kv: KinesisVideoClient;
let seq = 0;
const uniqueName = (base: string) => `${base}-${process.pid}-${++seq}`;
const create = (name: string, extra: Parameters<typeof createAndDescribe>[2] = {}) => createAndDescribe(kv, name, extra);

beforeAll(async () => {
  server = await startTestServer();
  kv = new KinesisVideoClient(sdkConfig(server.url));
});
afterAll(async () => {
  kv?.destroy();
  await server?.close();
});

describe('tags', () => {
  it('TagStream / ListTagsForStream / UntagStream (map form, name or ARN)', async () => {
    const name = uniqueName('tag');
    const { arn, info } = await create(name);
    await kv.send(new TagStreamCommand({ StreamARN: arn, Tags: { a: '1', b: '2' } }));
    await kv.send(new TagStreamCommand({ StreamName: name, Tags: { b: '3', c: '' } }));
    expect((await kv.send(new ListTagsForStreamCommand({ StreamName: name }))).Tags).toEqual({ a: '1', b: '3', c: '' });
    await kv.send(new UntagStreamCommand({ StreamARN: arn, TagKeyList: ['a', 'missing'] }));
    const listed = await kv.send(new ListTagsForStreamCommand({ StreamARN: arn }));
    expect(listed.Tags).toEqual({ b: '3', c: '' });
    expect(listed.NextToken).toBeUndefined();
    // Tags do not change the stream Version.
    expect((await kv.send(new DescribeStreamCommand({ StreamName: name }))).StreamInfo!.Version).toBe(info.Version);
  });

  it('TagResource / ListTagsForResource / UntagResource (list form, PascalCase paths)', async () => {
    const { arn } = await create(uniqueName('res'));
    await kv.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: 'k1', Value: 'v1' }, { Key: 'k2', Value: 'v2' }] }));
    expect((await kv.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags).toEqual({ k1: 'v1', k2: 'v2' });
    await kv.send(new UntagResourceCommand({ ResourceARN: arn, TagKeyList: ['k1'] }));
    expect((await kv.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags).toEqual({ k2: 'v2' });
  });

  it('enforces 50 tags per stream and tag key/value lengths', async () => {
    const name = uniqueName('many');
    const { arn } = await create(name, { Tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`t${i}`, 'v'])) });
    await expectKvsError(kv.send(new TagStreamCommand({ StreamName: name, Tags: { extra: 'x' } })), 'TagsPerResourceExceededLimitException', 400);
    await expectKvsError(kv.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: 'extra', Value: 'x' }] })), 'TagsPerResourceExceededLimitException', 400);
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v']));
    await expectKvsError(kv.send(new CreateStreamCommand({ StreamName: uniqueName('many'), Tags: tooMany })), 'TagsPerResourceExceededLimitException', 400);
    await kv.send(new TagStreamCommand({ StreamName: name, Tags: { t0: 'overwrite is fine' } }));
    await expectKvsError(kv.send(new TagStreamCommand({ StreamName: name, Tags: { ['k'.repeat(129)]: 'v' } })), 'InvalidArgumentException', 400);
    await expectKvsError(kv.send(new TagStreamCommand({ StreamName: name, Tags: { t1: 'v'.repeat(257) } })), 'InvalidArgumentException', 400);
  });

  it('maps bad and unknown ARNs to the errors each operation models', async () => {
    const unknown = 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/ghost/1700000000000';
    await expectKvsError(kv.send(new TagStreamCommand({ StreamARN: 'not-an-arn', Tags: { a: 'b' } })), 'InvalidResourceFormatException', 400);
    await expectKvsError(kv.send(new ListTagsForStreamCommand({ StreamARN: 'not-an-arn' })), 'InvalidResourceFormatException', 400);
    await expectKvsError(kv.send(new TagStreamCommand({ StreamARN: unknown, Tags: { a: 'b' } })), 'ResourceNotFoundException', 404);
    await expectKvsError(kv.send(new ListTagsForResourceCommand({ ResourceARN: 'arn:x' })), 'InvalidArgumentException', 400);
    await expectKvsError(kv.send(new ListTagsForResourceCommand({ ResourceARN: unknown })), 'ResourceNotFoundException', 404);
    await expectKvsError(kv.send(new UntagResourceCommand({ ResourceARN: unknown, TagKeyList: ['a'] })), 'ResourceNotFoundException', 404);
  });
});

describe('image generation, notification and storage configuration', () => {
  const imageConfig: ImageGenerationConfiguration = {
    Status: 'ENABLED',
    ImageSelectorType: 'PRODUCER_TIMESTAMP',
    DestinationConfig: { Uri: 's3://bucket/prefix', DestinationRegion: 'us-east-1' },
    SamplingInterval: 3000,
    Format: 'JPEG',
    FormatConfig: { JPEGQuality: '80' },
    WidthPixels: 640,
    HeightPixels: 480,
  };

  it('round-trips the image generation configuration and deletes it when omitted', async () => {
    const name = uniqueName('img');
    await create(name, { DataRetentionInHours: 24 });
    expect((await kv.send(new DescribeImageGenerationConfigurationCommand({ StreamName: name }))).ImageGenerationConfiguration).toBeUndefined();
    await kv.send(new UpdateImageGenerationConfigurationCommand({ StreamName: name, ImageGenerationConfiguration: imageConfig }));
    const got = await kv.send(new DescribeImageGenerationConfigurationCommand({ StreamName: name }));
    expect(got.ImageGenerationConfiguration).toEqual(imageConfig);
    await kv.send(new UpdateImageGenerationConfigurationCommand({ StreamName: name }));
    expect((await kv.send(new DescribeImageGenerationConfigurationCommand({ StreamName: name }))).ImageGenerationConfiguration).toBeUndefined();
  });

  it('validates the image generation configuration and needs retention > 0', async () => {
    const name = uniqueName('img');
    await create(name, { DataRetentionInHours: 1 });
    const send = (c: Partial<ImageGenerationConfiguration>) =>
      kv.send(new UpdateImageGenerationConfigurationCommand({ StreamName: name, ImageGenerationConfiguration: { ...imageConfig, ...c } }));
    await expectKvsError(send({ SamplingInterval: 199 }), 'InvalidArgumentException', 400);
    await expectKvsError(send({ Format: 'GIF' as never }), 'InvalidArgumentException', 400);
    await expectKvsError(send({ FormatConfig: { JPEGQuality: '101' } }), 'InvalidArgumentException', 400);
    await expectKvsError(send({ DestinationConfig: { Uri: 's3://b/p', DestinationRegion: 'eu-west-1' } }), 'InvalidArgumentException', 400);
    await expectKvsError(send({ Status: undefined }), 'InvalidArgumentException', 400);
    const noRetention = uniqueName('img0');
    await create(noRetention);
    await expectKvsError(
      kv.send(new UpdateImageGenerationConfigurationCommand({ StreamName: noRetention, ImageGenerationConfiguration: imageConfig })),
      'NoDataRetentionException',
      400,
    );
  });

  it('round-trips the notification configuration, deletes it when omitted, needs retention > 0', async () => {
    const name = uniqueName('ntf');
    await create(name, { DataRetentionInHours: 2 });
    const config = { Status: 'ENABLED' as const, DestinationConfig: { Uri: 'arn:aws:sns:us-east-1:000000000000:topic' } };
    await kv.send(new UpdateNotificationConfigurationCommand({ StreamName: name, NotificationConfiguration: config }));
    expect((await kv.send(new DescribeNotificationConfigurationCommand({ StreamName: name }))).NotificationConfiguration).toEqual(config);
    await kv.send(new UpdateNotificationConfigurationCommand({ StreamName: name }));
    expect((await kv.send(new DescribeNotificationConfigurationCommand({ StreamName: name }))).NotificationConfiguration).toBeUndefined();
    await expectKvsError(
      kv.send(new UpdateNotificationConfigurationCommand({ StreamName: name, NotificationConfiguration: { Status: 'ON' as never, DestinationConfig: config.DestinationConfig } })),
      'InvalidArgumentException',
      400,
    );
    const noRetention = uniqueName('ntf0');
    await create(noRetention);
    await expectKvsError(
      kv.send(new UpdateNotificationConfigurationCommand({ StreamName: noRetention, NotificationConfiguration: config })),
      'NoDataRetentionException',
      400,
    );
  });

  it('updates the storage tier with CurrentVersion', async () => {
    const name = uniqueName('tier');
    const { info } = await create(name);
    const describe = () => kv.send(new DescribeStreamStorageConfigurationCommand({ StreamName: name }));
    expect((await describe()).StreamStorageConfiguration).toEqual({ DefaultStorageTier: 'HOT' });
    await expectKvsError(
      kv.send(new UpdateStreamStorageConfigurationCommand({ StreamName: name, CurrentVersion: 'stale', StreamStorageConfiguration: { DefaultStorageTier: 'WARM' } })),
      'VersionMismatchException',
      400,
    );
    await kv.send(new UpdateStreamStorageConfigurationCommand({ StreamName: name, CurrentVersion: info.Version!, StreamStorageConfiguration: { DefaultStorageTier: 'WARM' } }));
    expect((await describe()).StreamStorageConfiguration).toEqual({ DefaultStorageTier: 'WARM' });
    await expectKvsError(
      kv.send(new UpdateStreamStorageConfigurationCommand({ StreamName: name, StreamStorageConfiguration: { DefaultStorageTier: 'WARM' } } as never)),
      'InvalidArgumentException',
      400,
    );
  });
});

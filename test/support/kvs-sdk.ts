/** Helpers for tests that drive Kestrel through the real AWS SDK v3 control-plane client. */
import { expect } from 'vitest';
import {
  CreateStreamCommand,
  DescribeStreamCommand,
  type CreateStreamCommandInput,
  type KinesisVideoClient,
} from '@aws-sdk/client-kinesis-video';

/** Asserts the SDK decoded a KVS error: name, HTTP status, and a message taken from the body. */
export async function expectKvsError(promise: Promise<unknown>, name: string, status: number): Promise<Error> {
  const err = (await promise.then(
    () => {
      throw new Error(`expected ${name}, got success`);
    },
    (e: unknown) => e,
  )) as Error & { $metadata?: { httpStatusCode?: number } };
  expect(err.name).toBe(name);
  expect(err.$metadata?.httpStatusCode).toBe(status);
  expect(err.message).not.toBe('UnknownError');
  return err;
}

/** CreateStream, then DescribeStream: the ARN and the StreamInfo as the SDK decodes it. */
export async function createAndDescribe(kv: KinesisVideoClient, name: string, extra: Partial<CreateStreamCommandInput> = {}) {
  const { StreamARN } = await kv.send(new CreateStreamCommand({ StreamName: name, ...extra }));
  const { StreamInfo } = await kv.send(new DescribeStreamCommand({ StreamName: name }));
  return { arn: StreamARN!, info: StreamInfo! };
}

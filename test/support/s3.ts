/**
 * The Ceph RGW the tests use (started by .ci/ceph-rgw, which .ci/run calls): endpoint and the test
 * user's keys from KESTREL_TEST_S3_* (defaults: the script's fixed values), and a fresh bucket per
 * test file. Credentials are passed per client or per child process, never through the global AWS_*
 * variables other tests set.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

export interface RgwSettings {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export function rgwSettings(): RgwSettings {
  return {
    endpoint: process.env.KESTREL_TEST_S3_ENDPOINT ?? 'http://127.0.0.1:7480',
    region: 'us-east-1',
    credentials: {
      accessKeyId: process.env.KESTREL_TEST_S3_ACCESS_KEY_ID ?? 'KESTRELTESTACCESSKEY',
      secretAccessKey: process.env.KESTREL_TEST_S3_SECRET_ACCESS_KEY ?? 'kestrel-test-secret-key-0000000000000000',
    },
  };
}

/** Env for a server child process talking to the gateway as the test user. */
export function rgwChildEnv(s: RgwSettings = rgwSettings()): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: s.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s.credentials.secretAccessKey, AWS_REGION: s.region };
}

export function rgwClient(s: RgwSettings = rgwSettings()): S3Client {
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    credentials: s.credentials,
    forcePathStyle: true,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 15_000 },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface TestBucket {
  name: string;
  settings: RgwSettings;
  client: S3Client;
  /** Deletes every object and the bucket. */
  remove(): Promise<void>;
}

/** A uniquely named bucket on the gateway; call remove() in afterAll. */
export async function createTestBucket(label = 'kestrel'): Promise<TestBucket> {
  const settings = rgwSettings();
  const client = rgwClient(settings);
  const name = `${label.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 30)}-${randomBytes(6).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return {
    name,
    settings,
    client,
    async remove() {
      let token: string | undefined;
      do {
        const out = await client.send(new ListObjectsV2Command({ Bucket: name, ...(token ? { ContinuationToken: token } : {}) }));
        for (const o of out.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: name, Key: o.Key! }));
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      await client.send(new DeleteBucketCommand({ Bucket: name }));
      client.destroy();
    },
  };
}

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { ObjectNotFoundError, type ByteRange, type ObjectInfo, type ObjectStore } from './object-store.ts';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** S3-compatible endpoint (Ceph RGW, MinIO…); default AWS. */
  endpoint?: string;
  region?: string;
  /** Default: the SDK chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, profile…). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Per-attempt timeouts and attempts (default 3 s connect, 30 s request, 3 attempts). */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxAttempts?: number;
}

/**
 * ObjectStore on any S3-compatible server. Path-style addressing (works with every self-hosted
 * store), bounded timeouts and retries, and checksums only where S3 requires them (older RGW and
 * MinIO releases reject the SDK's default streaming-checksum trailers).
 */
export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(opts: S3ObjectStoreOptions) {
    this.bucket = opts.bucket;
    this.description = `s3://${opts.bucket}${opts.endpoint ? ` at ${opts.endpoint}` : ''}`;
    this.client = new S3Client({
      region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      forcePathStyle: true,
      maxAttempts: opts.maxAttempts ?? 3,
      // The SDK builds its NodeHttpHandler from these (no direct dependency on @smithy).
      requestHandler: { connectionTimeout: opts.connectTimeoutMs ?? 3_000, requestTimeout: opts.requestTimeoutMs ?? 30_000 },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async putIfAbsent(key: string, body: Buffer): Promise<'created' | 'exists'> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, IfNoneMatch: '*', ContentLength: body.length }));
      return 'created';
    } catch (err) {
      // 412: the key exists. 409 (ConditionalRequestConflict): a concurrent conditional write won.
      const status = statusOf(err);
      if (status === 412 || status === 409) return 'exists';
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    if (range && range.length === 0) return Buffer.alloc(0);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}) }),
      );
      const bytes = Buffer.from(await out.Body!.transformToByteArray());
      if (range && bytes.length !== range.length) throw new Error(`short ranged read of ${key}: ${bytes.length}/${range.length} bytes`);
      return bytes;
    } catch (err) {
      if (statusOf(err) === 404) throw new ObjectNotFoundError(key);
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: out.ContentLength ?? 0, lastModifiedMs: out.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const o of out.Contents ?? []) yield { key: o.Key!, size: o.Size ?? 0, lastModifiedMs: o.LastModified?.getTime() ?? 0 };
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function statusOf(err: unknown): number | undefined {
  if (err instanceof S3ServiceException) return err.$metadata.httpStatusCode;
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

import { GetObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertSafeKey, joinKey, type SnapshotStore } from './snapshot-store.ts';

export interface S3SnapshotStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (no leading/trailing slash needed). */
  prefix?: string;
  /** Custom S3-compatible endpoint (MinIO, s3rver, Ceph…). Implies path-style unless overridden. */
  endpoint?: string;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, then us-east-1. */
  region?: string;
  /** Default: the SDK chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, profile, …). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  forcePathStyle?: boolean;
  /** Lifetime of the URLs `put` returns. Default 7 days (the SigV4 maximum). */
  presignExpiresSec?: number;
  /** Use a ready client instead of building one. */
  client?: S3Client;
  /** The SDK's HTTP handler options (src/outbound/: agents with timeouts). */
  requestHandler?: S3ClientConfig['requestHandler'];
  /** Total time a PutObject may take (default none beyond the handler's socket timeouts). */
  callTimeoutMs?: number;
}

/** Builds the client config (pure; exported for tests). */
export function s3ClientConfig(o: S3SnapshotStoreOptions, env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const cfg: S3ClientConfig = {
    region: o.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    // Plain PUTs of Buffers: avoid aws-chunked bodies, which non-AWS servers store verbatim.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (o.endpoint) cfg.endpoint = o.endpoint;
  const pathStyle = o.forcePathStyle ?? (o.endpoint ? true : undefined);
  if (pathStyle !== undefined) cfg.forcePathStyle = pathStyle;
  if (o.credentials) cfg.credentials = o.credentials;
  if (o.requestHandler) cfg.requestHandler = o.requestHandler;
  return cfg;
}

/** Snapshots as S3 objects; `put` returns a presigned GET URL. */
export class S3SnapshotStore implements SnapshotStore {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly prefix: string;
  private readonly expires: number;
  private readonly callTimeoutMs: number | undefined;

  constructor(opts: S3SnapshotStoreOptions) {
    this.callTimeoutMs = opts.callTimeoutMs;
    this.client = opts.client ?? new S3Client(s3ClientConfig(opts));
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ?? '';
    this.expires = opts.presignExpiresSec ?? 7 * 24 * 3600;
  }

  /** Full object key for a snapshot key. */
  objectKey(key: string): string {
    assertSafeKey(key);
    return joinKey(this.prefix, key);
  }

  /** `s3://bucket/prefix/key`. */
  uri(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  async put(key: string, jpeg: Buffer, contentType: string, metadata: Record<string, string>): Promise<{ url: string }> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Body: jpeg, ContentType: contentType, ContentLength: jpeg.length, Metadata: metadata }),
      this.callTimeoutMs ? { abortSignal: AbortSignal.timeout(this.callTimeoutMs) } : {},
    );
    return { url: await this.presign(key) };
  }

  presign(key: string, expiresInSec = this.expires): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), { expiresIn: expiresInSec });
  }

  close(): void {
    this.client.destroy();
  }
}

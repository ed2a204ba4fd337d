import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { FolderObjectStore } from '../../src/store/objects/folder-object-store.ts';
import { S3ObjectStore } from '../../src/store/objects/s3-object-store.ts';
import { parseMediaUrl } from '../../src/store/objects/object-store.ts';
import { objectStoreContract } from '../support/object-store-contract.ts';
import { createTestBucket, type TestBucket } from '../support/s3.ts';

let bucket: TestBucket;
beforeAll(async () => {
  bucket = await createTestBucket('object-store');
});
afterAll(async () => {
  await bucket?.remove();
});

describe('Ceph RGW with the AWS SDK v3', () => {
  it('answers a conditional PUT (If-None-Match: *) on an existing key with 412 and keeps the first bytes', async () => {
    const Key = 'conditional/one.bin';
    await bucket.client.send(new PutObjectCommand({ Bucket: bucket.name, Key, Body: 'first', IfNoneMatch: '*' }));
    const second = await bucket.client
      .send(new PutObjectCommand({ Bucket: bucket.name, Key, Body: 'second', IfNoneMatch: '*' }))
      .then(() => undefined, (err: unknown) => err);
    expect(second).toBeInstanceOf(S3ServiceException);
    expect((second as S3ServiceException).$metadata.httpStatusCode).toBe(412);
    const got = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.name, Key }));
    expect(await got.Body!.transformToString()).toBe('first');
  });
});

objectStoreContract('folder', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-objects-'));
  const store = new FolderObjectStore(dir);
  return { store, close: () => fs.rmSync(dir, { recursive: true, force: true }) };
});

objectStoreContract('S3 on Ceph RGW', async () => {
  const store = new S3ObjectStore({ bucket: bucket.name, endpoint: bucket.settings.endpoint, credentials: bucket.settings.credentials, region: bucket.settings.region });
  return { store, close: () => store.close() };
});

describe('folder object store', () => {
  it('refuses keys that would leave its folder', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-objects-'));
    try {
      const store = new FolderObjectStore(path.join(dir, 'bucket'));
      for (const key of ['../escape.mkv', 'a/../../escape.mkv', '/abs.mkv', 'a//b.mkv', '']) {
        await expect(store.putIfAbsent(key, Buffer.from('x'))).rejects.toThrow(/invalid object key/);
      }
      expect(fs.readdirSync(dir)).toEqual(['bucket']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('media URL', () => {
  it('splits s3://bucket/prefix and refuses anything else', () => {
    expect(parseMediaUrl('s3://media-bucket/site/a/')).toEqual({ bucket: 'media-bucket', prefix: 'site/a' });
    expect(parseMediaUrl('s3://media-bucket')).toEqual({ bucket: 'media-bucket', prefix: '' });
    expect(() => parseMediaUrl('http://x/y')).toThrow(/s3:\/\/bucket\/prefix/);
    expect(() => parseMediaUrl('s3://b/../x')).toThrow(/\.\./);
  });
});

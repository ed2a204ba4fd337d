/**
 * Two Kestrel nodes (separate data folders) on one PostgreSQL index: streams, users, access keys and
 * viewer sessions made on one are seen by the other, and control-plane writes from both at once
 * resolve by optimistic concurrency (no lock is shared between the processes' memory).
 */
import { randomBytes } from 'node:crypto';
import { CreateStreamCommand, DescribeStreamCommand, KinesisVideoClient, ListTagsForStreamCommand, TagStreamCommand, UpdateStreamCommand } from '@aws-sdk/client-kinesis-video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { signInHttp } from '../support/sign-in.ts';
import { signedFetch } from '../support/auth.ts';
import { eventually } from '../support/wait.ts';

let db: TestDatabase;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  const serverKey = randomBytes(32).toString('hex');
  // Both start at once: migrations and the root user's bootstrap must not trip over each other.
  const start = () => startTestServer({ indexUrl: db.url, auth: { serverKey } });
  [a, b] = await Promise.all([start(), start()]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await db.drop();
});

describe('two nodes on one PostgreSQL index', () => {
  it('a stream created on one node is described and tagged on the other; concurrent writes from both all land', async () => {
    const kvA = new KinesisVideoClient(sdkConfig(a.url));
    const kvB = new KinesisVideoClient(sdkConfig(b.url));
    await kvA.send(new CreateStreamCommand({ StreamName: 'shared', DataRetentionInHours: 1 }));
    await expect(kvB.send(new CreateStreamCommand({ StreamName: 'shared' }))).rejects.toMatchObject({ name: 'ResourceInUseException' });
    expect((await kvB.send(new DescribeStreamCommand({ StreamName: 'shared' }))).StreamInfo?.Status).toBe('ACTIVE');

    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? kvA : kvB).send(new TagStreamCommand({ StreamName: 'shared', Tags: { [`t${i}`]: String(i) } }))));
    expect(Object.keys((await kvA.send(new ListTagsForStreamCommand({ StreamName: 'shared' }))).Tags!)).toHaveLength(12);

    const version = (await kvA.send(new DescribeStreamCommand({ StreamName: 'shared' }))).StreamInfo!.Version!;
    const results = await Promise.allSettled([kvA, kvB].map((kv, i) => kv.send(new UpdateStreamCommand({ StreamName: 'shared', CurrentVersion: version, DeviceName: `node-${i}` }))));
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ name: 'VersionMismatchException' });
  });

  it('a user and key made on one node sign requests on the other; a viewer session works on both', async () => {
    const created = await signedFetch(`${a.url}/api/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'olga', role: 'operator', password: 'olga-password-1' }) });
    expect(created.status).toBeLessThan(300);
    const key = await signedFetch(`${a.url}/api/v1/keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'olga' }) });
    expect(key.status).toBeLessThan(300);
    const pair = (await key.json()) as { accessKeyId: string; secretAccessKey: string };
    const asOlga = new KinesisVideoClient({ ...sdkConfig(b.url), credentials: { accessKeyId: pair.accessKeyId, secretAccessKey: pair.secretAccessKey } });
    expect((await asOlga.send(new DescribeStreamCommand({ StreamName: 'shared' }))).StreamInfo?.StreamName).toBe('shared');

    const session = await signInHttp(a.url, 'olga', 'olga-password-1');
    const onB = await fetch(`${b.url}/api/v1/session`, { headers: { cookie: session.cookie } });
    expect(onB.status).toBe(200);
    expect(await onB.json()).toMatchObject({ user: 'olga', role: 'operator' });

    // Revoked on A: B stops taking the key once its short key cache expires; signing out on B ends the session on A.
    expect((await signedFetch(`${a.url}/api/v1/keys/${pair.accessKeyId}`, { method: 'DELETE' })).status).toBeLessThan(300);
    await eventually(
      () => asOlga.send(new DescribeStreamCommand({ StreamName: 'shared' })).then(() => 'accepted', (e: { name?: string }) => e.name ?? 'error'),
      (outcome) => outcome === 'UnrecognizedClientException',
      'the revoked key refused on the other node',
      10_000,
    );
    const out = await fetch(`${b.url}/api/v1/session`, { method: 'DELETE', headers: { cookie: session.cookie, 'x-kestrel-csrf': session.csrfToken, origin: b.url } });
    expect(out.status).toBe(204);
    expect((await fetch(`${a.url}/api/v1/session`, { headers: { cookie: session.cookie } })).status).toBe(401);
  });
});

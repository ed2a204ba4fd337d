/**
 * The StreamRepository contract, as a suite every implementation runs (SQLite, PostgreSQL):
 * `streamRepositoryContract('sqlite', async () => ({ repo, another, close }))`. `another()` is a
 * second handle on the same data, as a second node would hold.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamService } from '../../src/control/stream-service.ts';
import { KvsError } from '../../src/shared/errors.ts';
import { StaleStreamError, type StreamRecord, type StreamRepository } from '../../src/store/types.ts';
import { streamRecord } from './stream-record.ts';

export interface StreamRepositorySubject {
  repo: StreamRepository;
  another(): StreamRepository;
  close(): Promise<void> | void;
}

const record = (name: string, extra: Partial<StreamRecord> = {}) =>
  streamRecord(name, { arn: `arn:aws:kinesisvideo:us-east-1:000000000000:stream/${name}/1700000000000`, ...extra });

const service = (repo: StreamRepository) =>
  new StreamService({ repo, clock: { now: () => 1_700_000_000_000 }, region: 'us-east-1', accountId: '000000000000', dataEndpoint: () => 'http://x' });

export function streamRepositoryContract(name: string, open: () => Promise<StreamRepositorySubject>): void {
  describe(`StreamRepository contract: ${name}`, () => {
    let subject: StreamRepositorySubject;
    let repo: StreamRepository;
    beforeEach(async () => {
      subject = await open();
      repo = subject.repo;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('round-trips every field, JSON columns included', async () => {
      const full = record('s1', {
        mediaType: 'video/h264',
        deviceName: 'dev',
        tags: JSON.parse('{"a":"b","__proto__":"x","ü":"ß"}') as Record<string, string>,
        storageTier: 'WARM',
        creationTimeMs: 1_765_000_000_123,
        dataRetentionInHours: 87_600,
        imageGenerationConfig: { Status: 'ENABLED', SamplingInterval: 3000, Formats: ['JPEG'] },
        notificationConfig: { Status: 'DISABLED', DestinationConfig: { Uri: 'arn:aws:sns:x' } },
      });
      const created = await repo.create(full);
      expect(created.revision).toBe(0);
      expect(await repo.getById(created.id)).toEqual(created);
      expect(await repo.getByName('s1')).toEqual(created);
      expect(await repo.getByArn(full.arn)).toEqual(created);
      expect(Object.keys((await repo.getById(created.id))!.tags)).toContain('__proto__');
      expect(await repo.getByName('nope')).toBeUndefined();
      expect(await repo.getById(created.id + 1000)).toBeUndefined();
    });

    it('refuses a duplicate name with ResourceInUseException, also when creates race', async () => {
      await repo.create(record('dup'));
      const err = await repo.create(record('dup', { arn: 'other' })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KvsError);
      expect((err as KvsError).kvsName).toBe('ResourceInUseException');
      const results = await Promise.allSettled([repo, subject.another(), repo, subject.another()].map((r, i) => r.create(record('race', { arn: `arn-race-${i}` }))));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as KvsError).kvsName).toBe('ResourceInUseException');
    });

    it('never reuses an id, even for the same name after deletion', async () => {
      const a = await repo.create(record('a'));
      await repo.remove(a.id);
      const again = await repo.create(record('a'));
      expect(again.id).toBeGreaterThan(a.id);
      expect(await repo.getById(a.id)).toBeUndefined();
    });

    it('lists in byte order of names with prefix, cursor and limit; "_" and "%" are not wildcards', async () => {
      for (const n of ['cam_2', 'cam_1', 'camX1', 'door', 'cam.1', 'Zed', 'cam%1']) await repo.create(record(n, { arn: `arn-${n}` }));
      expect((await repo.list({ limit: 10 })).map((s) => s.name)).toEqual(['Zed', 'cam%1', 'cam.1', 'camX1', 'cam_1', 'cam_2', 'door']);
      expect((await repo.list({ prefix: 'cam_', limit: 10 })).map((s) => s.name)).toEqual(['cam_1', 'cam_2']);
      expect((await repo.list({ prefix: 'cam%', limit: 10 })).map((s) => s.name)).toEqual(['cam%1']);
      expect((await repo.list({ prefix: 'cam', afterName: 'camX1', limit: 1 })).map((s) => s.name)).toEqual(['cam_1']);
      expect(await repo.list({ prefix: 'nothing', limit: 10 })).toEqual([]);
      expect(await repo.count()).toBe(7);
    });

    it('saves by id and revision; a record read before another save is refused (VersionMismatchException)', async () => {
      const s = await repo.create(record('s'));
      const saved = await repo.save({ ...s, version: 'v2', tags: { k: 'v' }, dataRetentionInHours: 5 });
      expect(saved.revision).toBeGreaterThan(s.revision);
      expect(await repo.getById(s.id)).toEqual(saved);
      const stale = await repo.save({ ...s, version: 'v3' }).catch((e: unknown) => e);
      expect(stale).toBeInstanceOf(StaleStreamError);
      expect((stale as KvsError).kvsName).toBe('VersionMismatchException');
      expect((await repo.getById(s.id))?.version).toBe('v2');
      // Another node's handle sees the save and is held to the same rule.
      const other = subject.another();
      const seen = (await other.getById(s.id))!;
      expect(seen).toEqual(saved);
      await other.save({ ...seen, deviceName: 'from-b' });
      await expect(repo.save({ ...saved, deviceName: 'from-a' })).rejects.toBeInstanceOf(StaleStreamError);
      await repo.remove(s.id);
      await expect(repo.save(saved)).rejects.toBeInstanceOf(StaleStreamError);
    });

    it('two control planes on the same data: concurrent tag changes all land and one CurrentVersion wins', async () => {
      const a = service(repo);
      const b = service(subject.another());
      await a.createStream({ StreamName: 'shared' });
      await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).tagStream({ StreamName: 'shared', Tags: { [`k${i}`]: 'v' } })));
      expect(Object.keys((await b.listTagsForStream({ StreamName: 'shared' })).Tags)).toHaveLength(16);
      const version = (await a.describeStream({ StreamName: 'shared' })).StreamInfo.Version;
      const results = await Promise.allSettled([a, b].map((svc, i) => svc.updateStream({ StreamName: 'shared', CurrentVersion: version, DeviceName: `node-${i}` })));
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((loser.reason as KvsError).kvsName).toBe('VersionMismatchException');
    });
  });
}

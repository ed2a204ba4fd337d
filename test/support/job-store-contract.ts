/**
 * The JobStore contract, run against every implementation (SQLite in test/unit/jobs, PostgreSQL in
 * test/integration/pg-work-stores.test.ts). The subject carries the event store of the same backend:
 * checkpoint commits record the job's events in it, in the same transaction.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveDetectConfig } from '../../src/detect/detect-config.ts';
import type { EventStore } from '../../src/events/event-store.ts';
import { nextEvent, startEvent } from '../../src/events/lifecycle.ts';
import { JobLeaseLostError, type JobStore } from '../../src/jobs/job-store.ts';
import type { FrameRecord, JobRequest } from '../../src/jobs/job-types.ts';
import { observation } from './event-store-contract.ts';

export interface JobStoreSubject {
  jobs: JobStore;
  events: EventStore;
  close(): Promise<void> | void;
}

const request = (stream: string): JobRequest => ({ stream, startMs: 1_000, endMs: 61_000, fps: 1 });
const config = resolveDetectConfig({ enabled: true, sampling: 1 });
const frame = (t: number): FrameRecord => ({
  fragmentNumber: `f${t}`, timestampMs: t, serverTimestampMs: t + 5, detected: true, sourceWidth: 640, sourceHeight: 480,
  detections: [{ label: 'person', score: 0.8, box: [0.1, 0.2, 0.3, 0.4], boxPx: [64, 96, 192, 192] }],
});
const jobEvent = (jobId: string, t: number) => ({ ...startEvent({ name: 'cam', arn: 'arn:cam' }, observation(t, 0.7)), jobId });

export function jobStoreContract(name: string, open: () => Promise<JobStoreSubject>): void {
  describe(`JobStore contract: ${name}`, () => {
    let subject: JobStoreSubject;
    let jobs: JobStore;
    beforeEach(async () => {
      subject = await open();
      jobs = subject.jobs;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('creates, lists newest first, and moves queued → running → succeeded', async () => {
      const a = await jobs.create({ id: 'job-a', request: request('cam'), config, createdAt: 10 });
      expect(a).toMatchObject({ id: 'job-a', status: 'queued', stream: 'cam', start: new Date(1000).toISOString(), sampling: 1, startedAt: null, events: 0 });
      await jobs.create({ id: 'job-b', request: request('yard'), config, createdAt: 20 });
      expect((await jobs.list()).map((j) => j.id)).toEqual(['job-b', 'job-a']);
      expect((await jobs.list(1)).map((j) => j.id)).toEqual(['job-b']);
      expect((await jobs.unfinished()).map((s) => s.job.id)).toEqual(['job-a', 'job-b']);
      expect(await jobs.get('nope')).toBeUndefined();
      const got = await jobs.get('job-a');
      expect(got).toMatchObject({ request: request('cam'), fragments: null, position: 0, open: [], replayFrom: 0 });
      expect(got?.config).toEqual(config);

      const running = await jobs.markRunning('job-a', ['f1', 'f2', 'f3'], 100);
      expect(running).toMatchObject({ fragments: ['f1', 'f2', 'f3'], job: { status: 'running', startedAt: new Date(100).toISOString() } });
      // A resumed job keeps its first fragment list and start time.
      expect(await jobs.markRunning('job-a', ['other'], 200)).toMatchObject({ fragments: ['f1', 'f2', 'f3'], job: { startedAt: new Date(100).toISOString() } });

      expect(await jobs.finish('job-a', 'succeeded', 300)).toBe(true);
      expect(await jobs.finish('job-a', 'failed', 400, 'late')).toBe(false);
      expect((await jobs.get('job-a'))?.job).toMatchObject({ status: 'succeeded', finishedAt: new Date(300).toISOString(), progress: { percent: 100 } });
      expect((await jobs.get('job-a'))?.job.error).toBeUndefined();
      expect(await jobs.finish('job-b', 'failed', 500, 'stream gone')).toBe(true);
      expect((await jobs.get('job-b'))?.job).toMatchObject({ status: 'failed', error: 'stream gone' });
      expect(await jobs.unfinished()).toEqual([]);
    });

    it('commits frames, position, open objects and the job events together', async () => {
      await jobs.create({ id: 'job-c', request: request('cam'), config, createdAt: 1 });
      await jobs.markRunning('job-c', ['f1', 'f2', 'f3', 'f4'], 2);
      const e1 = jobEvent('job-c', 1000);
      const e1b = nextEvent(e1, 'update', observation(1500, 0.9));
      const e2 = jobEvent('job-c', 2000);
      await jobs.commit('job-c', { position: 1, open: [], replayFrom: 1, frames: [frame(1000), frame(1500)], events: [e1, e1b, e2] });
      let st = await jobs.get('job-c');
      expect(st).toMatchObject({ position: 1, replayFrom: 1, job: { events: 2, progress: { fragmentsDone: 1, fragmentsTotal: 4, framesDone: 2, percent: 25 } } });
      // The event already exists: a later message does not count it again.
      await jobs.commit('job-c', { position: 2, open: [], replayFrom: 1, frames: [frame(2500)], events: [nextEvent(e2, 'end', observation(2500, 0.6))] });
      st = await jobs.get('job-c');
      expect(st?.job.events).toBe(2);
      expect((await jobs.frames('job-c')).map((f) => f.timestampMs)).toEqual([1000, 1500, 2500]);
      expect((await jobs.frames('job-c'))[0]).toEqual(frame(1000));
      const listed = await subject.events.list({ job: 'job-c' });
      expect(listed.events.map((e) => [e.id, e.state])).toEqual([[e1.id, 'update'], [e2.id, 'end']]);
      // The final commit lands with the status change.
      expect(await jobs.finish('job-c', 'succeeded', 9, undefined, { position: 4, open: [], replayFrom: 4, frames: [frame(3000)], events: [jobEvent('job-c', 3000)] })).toBe(true);
      st = await jobs.get('job-c');
      expect(st).toMatchObject({ position: 4, job: { status: 'succeeded', events: 3, progress: { framesDone: 4 } } });
      expect(await jobs.frames('job-c')).toHaveLength(4);
    });

    it('keeps open objects of the checkpoint', async () => {
      await jobs.create({ id: 'job-o', request: request('cam'), config, createdAt: 1 });
      const open = [{ id: 'o1', label: 'person', startTimeMs: 5 } as never];
      await jobs.commit('job-o', { position: 3, open, replayFrom: 2, frames: [] });
      expect(await jobs.get('job-o')).toMatchObject({ position: 3, replayFrom: 2, open: [{ id: 'o1', label: 'person', startTimeMs: 5 }] });
    });

    it('leases unfinished jobs to one claimer at a time, oldest first', async () => {
      await jobs.create({ id: 'j1', request: request('cam'), config, createdAt: 1 });
      await jobs.create({ id: 'j2', request: request('cam'), config, createdAt: 2 });
      await jobs.create({ id: 'j3', request: request('cam'), config, createdAt: 3 });
      await jobs.finish('j3', 'cancelled', 4);
      expect((await jobs.claimNext('node-a', 100, 1000))?.job.id).toBe('j1');
      expect((await jobs.claimNext('node-b', 100, 1000))?.job.id).toBe('j2');
      expect(await jobs.claimNext('node-c', 500, 1000)).toBeUndefined();
      expect(await jobs.renewLease('j1', 'node-a', 900, 1000)).toBe(true);
      expect(await jobs.renewLease('j1', 'node-b', 900, 1000)).toBe(false);
      // node-b stops renewing: its job is taken over once the lease is over; node-a's is not.
      const taken = await jobs.claimNext('node-c', 1500, 1000);
      expect(taken?.job.id).toBe('j2');
      expect(await jobs.renewLease('j2', 'node-b', 1600, 1000)).toBe(false);
      await jobs.finish('j1', 'succeeded', 1700);
      expect(await jobs.renewLease('j1', 'node-a', 1800, 1000)).toBe(false);
    });

    it('claims one job by id unless another owner holds a live lease', async () => {
      await jobs.create({ id: 'k1', request: request('cam'), config, createdAt: 1 });
      expect(await jobs.claim('k1', 'node-a', 100, 1000)).toBe(true);
      expect(await jobs.claim('k1', 'node-a', 200, 1000)).toBe(true);
      expect(await jobs.claim('k1', 'node-b', 300, 1000)).toBe(false);
      expect(await jobs.claim('k1', 'node-b', 1300, 1000)).toBe(true);
      expect(await jobs.renewLease('k1', 'node-a', 1400, 1000)).toBe(false);
      await jobs.finish('k1', 'succeeded', 1500);
      expect(await jobs.claim('k1', 'node-b', 1600, 1000)).toBe(false);
      expect(await jobs.claim('nope', 'node-b', 1600, 1000)).toBe(false);
      await jobs.create({ id: 'k2', request: request('cam'), config, createdAt: 2 });
      const wins = await Promise.all(['a', 'b', 'c', 'd'].map((n) => jobs.claim('k2', `node-${n}`, 10, 1000)));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it('fences commits by lease owner: a node that lost the job writes nothing', async () => {
      await jobs.create({ id: 'f1', request: request('cam'), config, createdAt: 1 });
      const cp = (position: number, owner: string) => ({ position, open: [], replayFrom: 0, frames: [frame(position)], events: [jobEvent('f1', position * 1000)], owner });
      await expect(jobs.commit('f1', cp(1, 'node-a'))).rejects.toBeInstanceOf(JobLeaseLostError);
      expect(await jobs.claim('f1', 'node-a', 0, 1000)).toBe(true);
      await jobs.commit('f1', cp(1, 'node-a'));
      expect(await jobs.claim('f1', 'node-b', 2000, 1000)).toBe(true); // node-a's lease ran out
      await expect(jobs.commit('f1', cp(2, 'node-a'))).rejects.toBeInstanceOf(JobLeaseLostError);
      await expect(jobs.finish('f1', 'succeeded', 3000, undefined, cp(3, 'node-a'))).rejects.toBeInstanceOf(JobLeaseLostError);
      const st = await jobs.get('f1');
      expect(st).toMatchObject({ position: 1, job: { status: 'queued', events: 1, progress: { framesDone: 1 } } });
      expect(await jobs.frames('f1')).toHaveLength(1);
      expect((await subject.events.list({ job: 'f1' })).events).toHaveLength(1);
      expect(await jobs.finish('f1', 'succeeded', 3000, undefined, cp(3, 'node-b'))).toBe(true);
    });

    it('never hands one job to two concurrent claimers', async () => {
      for (let i = 0; i < 6; i++) await jobs.create({ id: `c${i}`, request: request('cam'), config, createdAt: i });
      const claims = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((n) => jobs.claimNext(`node-${n}`, 10, 1000)));
      const got = claims.filter((c) => c !== undefined).map((c) => c.job.id);
      expect(new Set(got).size).toBe(got.length);
      expect(got.length).toBeGreaterThanOrEqual(1);
      expect(got.length).toBeLessThanOrEqual(6);
    });
  });
}

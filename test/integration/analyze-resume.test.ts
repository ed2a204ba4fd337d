/**
 * Batch jobs survive a server restart: a job interrupted mid-range (server closed after some fragments)
 * resumes on the same data dir and ends with exactly the frames and events of an uninterrupted run.
 * Cancel stops a job for good. Real CenterNet, slowed down so the range takes a while.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDetector } from '../../src/detect/create-detector.ts';
import type { Detector } from '../../src/detect/detector.ts';
import type { StoredEvent, StoredEventWithHistory } from '../../src/events/event-store.ts';
import type { Job } from '../../src/jobs/job-types.ts';
import type { JobReport } from '../../src/jobs/report.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { PEOPLE_MKV, RecordingDetector, blankClip, createStreams, getJson, postJson, pushMkv, sleep, until, waitForJob } from '../support/analyze-helpers.ts';
import { signedFetch } from '../support/auth.ts';

const STREAM = `resume-${randomUUID().slice(0, 8)}`;
let centernet: Detector;
let dataDir: string;
let srv: TestServer | undefined;
let detector: RecordingDetector;
let t0: number;

const start = async () => {
  detector = new RecordingDetector(centernet, 150);
  srv = await startTestServer({ dataDir, jobs: { detector } });
  return srv;
};

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-analyze-resume-'));
  centernet = await createDetector({ type: 'centernet' });
  const s = await start();
  await createStreams(s.url, STREAM);
  const people = fs.readFileSync(PEOPLE_MKV);
  const blank = await blankClip(dataDir);
  t0 = Date.now() - 60_000;
  // Three times: 3 s of people walking, then 2 s of an empty scene.
  for (let i = 0; i < 3; i++) {
    await pushMkv(s.url, STREAM, people, t0 + i * 5000);
    await pushMkv(s.url, STREAM, blank, t0 + i * 5000 + 3000);
  }
}, 120_000);

afterAll(async () => {
  await srv?.close();
  await centernet?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

// endAfterMs 800: events end in the empty scenes, so the job has quiet points to resume from.
const body = () => ({ stream: STREAM, start: t0 - 1000, end: t0 + 20_000, fps: 2, config: { endAfterMs: 800 } });
const getJob = (id: string) => getJson<Job>(`${srv!.url}/api/v1/jobs/${id}`);

async function outcome(id: string) {
  const report = await getJson<JobReport>(`${srv!.url}/api/v1/jobs/${id}/result`);
  const events = (await getJson<{ events: StoredEvent[] }>(`${srv!.url}/api/v1/events?job=${id}`)).events;
  const histories = await Promise.all(events.map((e) => getJson<StoredEventWithHistory>(`${srv!.url}/api/v1/events/${e.id}`).then((h) => h.history)));
  return { report, events, histories };
}

describe('batch jobs: restart and cancel', () => {
  it('a job interrupted by a server restart resumes and ends like an uninterrupted run', async () => {
    const ref = await postJson(`${srv!.url}/api/v1/jobs`, body());
    const refJob = await waitForJob(srv!.url, String(ref.body.id));
    expect(refJob.status, refJob.error).toBe('succeeded');
    const want = await outcome(refJob.id);
    expect(want.events.length).toBeGreaterThan(0);
    const total = refJob.progress.fragmentsTotal;
    expect(total).toBeGreaterThanOrEqual(9);

    const created = await postJson(`${srv!.url}/api/v1/jobs`, body());
    const id = String(created.body.id);
    await until(async () => (await getJob(id)).progress.fragmentsDone >= 6, 'six fragments done');
    await srv!.close();
    srv = undefined;

    await start();
    const resumed = await getJob(id);
    expect(['queued', 'running']).toContain(resumed.status);
    expect(resumed.progress.fragmentsDone).toBeGreaterThanOrEqual(6);
    expect(resumed.progress.fragmentsDone).toBeLessThan(total);
    const done = await waitForJob(srv!.url, id);
    expect(done.status, done.error).toBe('succeeded');
    expect(done.progress).toEqual(refJob.progress);
    // Resumed, not restarted: the second server replayed from a quiet point, not from the start.
    expect(detector.calls.length).toBeLessThan(want.report.frames.filter((f) => f.detected).length);

    const got = await outcome(id);
    // Frames: the same instants, none twice, none missing, with the same detections.
    expect(got.report.frames.map((f) => f.timestampMs)).toEqual(want.report.frames.map((f) => f.timestampMs));
    got.report.frames.forEach((f, i) => expect(f.count).toBe(want.report.frames[i]!.count));
    // Events: the same people with the same start and end; each event one start and one end message.
    expect(got.events.map((e) => [e.startTime, e.endTime, e.state])).toEqual(want.events.map((e) => [e.startTime, e.endTime, e.state]));
    for (const h of got.histories) {
      expect(h.filter((m) => m.type === 'start')).toHaveLength(1);
      expect(h.filter((m) => m.type === 'end')).toHaveLength(1);
      const keys = h.map((m) => `${m.type}:${m.frameTime}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
    expect(done.events).toBe(got.events.length);
  }, 300_000);

  it('cancel: the job stops and makes no more progress', async () => {
    const created = await postJson(`${srv!.url}/api/v1/jobs`, body());
    const id = String(created.body.id);
    await until(async () => (await getJob(id)).progress.fragmentsDone >= 1, 'a fragment done');
    const res = await signedFetch(`${srv!.url}/api/v1/jobs/${id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    const cancelled = (await res.json()) as Job;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.finishedAt).not.toBeNull();
    expect(cancelled.progress.fragmentsDone).toBeLessThan(cancelled.progress.fragmentsTotal);
    await sleep(1500);
    expect(await getJob(id)).toEqual(cancelled);
    // The partial result is readable; cancelling again changes nothing.
    expect((await signedFetch(`${srv!.url}/api/v1/jobs/${id}/result`)).status).toBe(200);
    expect((await postJson(`${srv!.url}/api/v1/jobs/${id}/cancel`, {})).body).toEqual(cancelled);
  }, 120_000);
});

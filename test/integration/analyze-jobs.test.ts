/**
 * Batch analysis with real parts (CenterNet ONNX, ffmpeg decoder, SQLite): the people fixture analysed
 * live by the in-process worker and again by a batch job over the archived range gives the same
 * per-frame detections and the same events; the no-people fixture gives none; the API validates.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDetector } from '../../src/detect/create-detector.ts';
import { resolveDetectConfig } from '../../src/detect/detect-config.ts';
import type { Detector } from '../../src/detect/detector.ts';
import { filterDetections, normalise } from '../../src/detect/filters.ts';
import type { StoredEvent, StoredEventWithHistory } from '../../src/events/event-store.ts';
import type { Job } from '../../src/jobs/job-types.ts';
import { parseCsv, type JobReport } from '../../src/jobs/report.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  PEOPLE_MKV, RecordingDetector, TREE_MKV, blankClip, createStreams, getJson, postJson, pushMkv, sleep, until, waitForJob,
} from '../support/analyze-helpers.ts';
import { signedFetch } from '../support/auth.ts';

const run = randomUUID().slice(0, 8);
const PEOPLE = `people-${run}`;
const EMPTY = `nopeople-${run}`;
const DETECT = { sampling: 2, endAfterMs: 800 };

let srv: TestServer;
let centernet: Detector;
let live: RecordingDetector;
let batch: RecordingDetector;
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-analyze-'));
  centernet = await createDetector({ type: 'centernet' });
  live = new RecordingDetector(centernet);
  batch = new RecordingDetector(centernet);
  srv = await startTestServer({
    detection: { enabled: true, detector: live, detect: DETECT, discoveryIntervalMs: 200 },
    jobs: { detector: batch },
  });
}, 120_000);

afterAll(async () => {
  await srv?.close();
  await centernet?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const events = (q: string) => getJson<{ events: StoredEvent[] }>(`${srv.url}/api/v1/events?${q}`).then((r) => r.events);
const history = (id: string) => getJson<StoredEventWithHistory>(`${srv.url}/api/v1/events/${id}`).then((e) => e.history);

async function runJob(body: Record<string, unknown>): Promise<{ job: Job; report: JobReport; csv: string[][] }> {
  const created = await postJson(`${srv.url}/api/v1/jobs`, body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const job = await waitForJob(srv.url, String(created.body.id));
  expect(job.status, job.error).toBe('succeeded');
  const report = await getJson<JobReport>(`${srv.url}/api/v1/jobs/${job.id}/result`);
  const csvRes = await signedFetch(`${srv.url}/api/v1/jobs/${job.id}/result?format=csv`);
  expect(csvRes.headers.get('content-type')).toMatch(/^text\/csv/);
  return { job, report, csv: parseCsv(await csvRes.text()) };
}

describe('batch analysis jobs', () => {
  it('a job over the archived range gives the same per-frame detections and events as the live worker', async () => {
    await createStreams(srv.url, PEOPLE, EMPTY);
    const worker = srv.server.detection!;
    await until(() => worker.streams.includes(PEOPLE) && worker.streams.includes(EMPTY), 'stream discovery');
    const blank = await blankClip(tmp);
    const t0 = Date.now();
    const pushed = [...(await pushMkv(srv.url, PEOPLE, fs.readFileSync(PEOPLE_MKV), t0)), ...(await pushMkv(srv.url, PEOPLE, blank, t0 + 3000))];
    // Live: every fragment processed (the newest after the idle flush) and every event ended.
    await until(() => worker.stats(PEOPLE)?.fragmentsDone === pushed.length, 'the live worker to process every fragment');
    await until(async () => {
      const ev = await events(`stream=${PEOPLE}`);
      return ev.length > 0 && ev.every((e) => e.state === 'end');
    }, 'live events to end');
    const liveCalls = live.calls.slice();
    // Several people can appear on the same frame: pair events by time, then by where they are.
    const byTrack = (a: StoredEvent, b: StoredEvent) => a.startTime - b.startTime || (a.endTime ?? 0) - (b.endTime ?? 0) || a.box.x - b.box.x;
    const liveEvents = (await events(`stream=${PEOPLE}`)).sort(byTrack);

    const { job, report, csv } = await runJob({ stream: PEOPLE, start: new Date(t0 - 1000).toISOString(), end: t0 + 10_000, fps: 2 });
    expect(job.progress).toEqual({ fragmentsDone: pushed.length, fragmentsTotal: pushed.length, framesDone: report.frames.length, percent: 100 });

    // Per frame: the detector ran on the same frames and found the same boxes.
    const detected = report.frames.filter((f) => f.detected);
    expect(detected.length).toBeGreaterThan(5);
    expect(batch.calls).toHaveLength(liveCalls.length);
    expect(detected).toHaveLength(liveCalls.length);
    const config = resolveDetectConfig(DETECT);
    liveCalls.forEach((raw, i) => {
      const want = filterDetections(raw.map((d) => normalise(d, centernet.inputSize.width, centernet.inputSize.height)), config);
      const got = detected[i]!.detections;
      expect(got.map((d) => d.label)).toEqual(want.map((d) => d.label));
      got.forEach((d, j) => d.box.forEach((v, k) => expect(Math.abs(v - want[j]!.box[k]!)).toBeLessThan(0.01)));
    });
    expect(report.frames.some((f) => f.count > 0 && f.detections[0]!.boxPx !== null)).toBe(true);
    const times = report.frames.map((f) => f.timestampMs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(new Set(times).size).toBe(times.length);

    // Events: as many, same start/end, and every message at the same frame time with the same box.
    const jobEvents = (await events(`job=${job.id}`)).sort(byTrack);
    expect(liveEvents.length).toBeGreaterThan(0);
    expect(jobEvents).toHaveLength(liveEvents.length);
    expect(report.events.map((e) => e.id).sort()).toEqual(jobEvents.map((e) => e.id).sort());
    expect(jobEvents.every((e) => e.jobId === job.id && e.state === 'end')).toBe(true);
    expect(jobEvents.map((e) => [e.startTime, e.endTime])).toEqual(liveEvents.map((e) => [e.startTime, e.endTime]));
    for (const [i, le] of liveEvents.entries()) {
      const lh = await history(le.id);
      const jh = await history(jobEvents[i]!.id);
      expect(jh.map((m) => [m.type, m.frameTime])).toEqual(lh.map((m) => [m.type, m.frameTime]));
      jh.forEach((m, j) => expect(Math.abs(m.box.x - lh[j]!.box.x)).toBeLessThan(5));
      for (const m of jh) expect(times).toContain(m.frameTime);
    }
    // The live listing stays live-only; the job's events are not mixed in.
    expect((await events(`stream=${PEOPLE}`)).map((e) => e.id).sort()).toEqual(liveEvents.map((e) => e.id).sort());
    expect(await events(`stream=${PEOPLE}&job=${job.id}`)).toHaveLength(jobEvents.length);

    // CSV: header, one event row per event, frame rows for every frame.
    expect(csv[0]).toEqual(['kind', 'id', 'time', 'end_time', 'fragment_number', 'detected', 'count', 'label', 'score', 'left', 'top', 'width', 'height']);
    expect(csv.filter((r) => r[0] === 'event')).toHaveLength(jobEvents.length);
    expect(new Set(csv.filter((r) => r[0] === 'frame').map((r) => r[2])).size).toBe(report.frames.length);
  }, 180_000);

  it('no people → zero events, every frame analysed', async () => {
    const worker = srv.server.detection!;
    const t0 = Date.now();
    const pushed = [...(await pushMkv(srv.url, EMPTY, fs.readFileSync(TREE_MKV), t0)), ...(await pushMkv(srv.url, EMPTY, await blankClip(tmp), t0 + 3000))];
    await until(() => worker.stats(EMPTY)?.fragmentsDone === pushed.length, 'the live worker to process every fragment');
    const { job, report, csv } = await runJob({ stream: EMPTY, start: t0 - 1000, end: t0 + 10_000, fps: 2 });
    expect(job.progress.fragmentsDone).toBe(pushed.length);
    expect(report.frames.length).toBeGreaterThan(5);
    expect(report.frames.every((f) => f.count === 0)).toBe(true);
    expect(report.events).toEqual([]);
    expect(await events(`job=${job.id}`)).toEqual([]);
    expect(await events(`stream=${EMPTY}`)).toEqual([]);
    expect(csv.filter((r) => r[0] === 'frame')).toHaveLength(report.frames.length);
  }, 120_000);

  it('validates requests; a range without fragments succeeds with an empty result', async () => {
    const post = (b: unknown) => postJson(`${srv.url}/api/v1/jobs`, b);
    expect((await post({ stream: 'no-such-stream', start: 0, end: 1000 })).status).toBe(404);
    const backwards = await post({ stream: PEOPLE, start: '2024-05-01T10:00:00Z', end: '2024-05-01T09:00:00Z' });
    expect(backwards).toEqual({ status: 400, body: { message: 'end is before start' } });
    expect((await post({ stream: PEOPLE, start: 'yesterday', end: 1000 })).status).toBe(400);
    expect((await post({ stream: PEOPLE, start: 0, end: 1000, fps: 0 })).status).toBe(400);
    expect((await post({ stream: PEOPLE, start: 0, end: 1000, config: { bogus: 1 } })).body.message).toMatch(/unknown option "bogus"/);
    expect((await post({ start: 0, end: 1000 })).body.message).toBe('stream is required');
    const bad = await signedFetch(`${srv.url}/api/v1/jobs`, { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
    expect((await signedFetch(`${srv.url}/api/v1/jobs/nope`)).status).toBe(404);
    expect((await signedFetch(`${srv.url}/api/v1/jobs/nope/result`)).status).toBe(404);

    const calls = batch.calls.length;
    const { job, report } = await runJob({ stream: PEOPLE, start: '2001-01-01T00:00:00Z', end: '2001-01-02T00:00:00Z' });
    expect(job.progress).toEqual({ fragmentsDone: 0, fragmentsTotal: 0, framesDone: 0, percent: 100 });
    expect(report).toMatchObject({ events: [], frames: [] });
    expect(batch.calls.length).toBe(calls);
    const listed = await getJson<{ jobs: Job[] }>(`${srv.url}/api/v1/jobs`);
    expect(listed.jobs[0]!.id).toBe(job.id); // newest first
    expect(listed.jobs.length).toBeGreaterThanOrEqual(3);
    await sleep(0);
  }, 60_000);
});

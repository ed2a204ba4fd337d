import { describe, expect, it } from 'vitest';
import { formatProgress, ProgressPrinter } from '../../../src/cli/progress.ts';
import { reportFormat } from '../../../src/cli/analyze.ts';
import type { TrackedObject } from '../../../src/detect/lifecycle.ts';
import { matchObjects } from '../../../src/jobs/job-runner.ts';
import { JobRequestError, jobConfig, parseJobRequest, parseTime, percent, type Job } from '../../../src/jobs/job-types.ts';
import { buildReport, csvField, parseCsv, reportToCsv } from '../../../src/jobs/report.ts';
import { makeBox } from '../../../src/events/types.ts';
import type { StoredEvent } from '../../../src/events/event-store.ts';

describe('job requests', () => {
  it('parses ISO and ms epoch times, rejects the rest', () => {
    expect(parseTime(1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(parseTime('1700000000000')).toBe(1_700_000_000_000);
    expect(parseTime('2024-05-01T10:00:00Z')).toBe(Date.UTC(2024, 4, 1, 10));
    expect(parseTime('2024-05-01')).toBe(Date.UTC(2024, 4, 1));
    for (const bad of ['yesterday', '', '5 May 2024', -1, 1.5, null, {}]) expect(parseTime(bad)).toBeUndefined();
  });

  it('validates the body with clear messages', () => {
    const err = (b: unknown) => {
      try {
        parseJobRequest(b);
      } catch (e) {
        expect(e).toBeInstanceOf(JobRequestError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err([])).toBe('body must be a JSON object');
    expect(err({ start: 0, end: 1 })).toBe('stream is required');
    expect(err({ stream: 's', end: 1 })).toMatch(/^start is required/);
    expect(err({ stream: 's', start: 0 })).toMatch(/^end is required/);
    expect(err({ stream: 's', start: 'x', end: 1 })).toMatch(/^start must be/);
    expect(err({ stream: 's', start: 2, end: 1 })).toBe('end is before start');
    expect(err({ stream: 's', start: 0, end: 1, fps: 61 })).toBe('fps must be a number in (0, 60]');
    expect(err({ stream: 's', start: 0, end: 1, extra: 1 })).toBe('unknown field "extra"');
    expect(err({ stream: 's', start: 0, end: 1, config: { minHits: 0 } })).toMatch(/minHits/);
    expect(parseJobRequest({ stream: 's', start: '2024-05-01T00:00:00Z', end: 1_714_521_600_000, fps: 1 })).toEqual({ stream: 's', startMs: 1_714_521_600_000, endMs: 1_714_521_600_000, fps: 1 });
  });

  it('config: stream config < request config < fps, always enabled', () => {
    const c = jobConfig({ enabled: false, sampling: 5, minHits: 3, motion: { gridWidth: 32 } }, { stream: 's', startMs: 0, endMs: 1, fps: 1, config: { minHits: 4, motion: { pixelThreshold: 9 } } });
    expect(c).toMatchObject({ enabled: true, sampling: 1, minHits: 4, motion: { gridWidth: 32, pixelThreshold: 9 } });
    expect(percent(1, 3)).toBe(33.3);
    expect(percent(0, 0)).toBe(0);
    expect(percent(5, 5)).toBe(100);
  });
});

const job: Job = {
  id: 'j1', status: 'succeeded', progress: { fragmentsDone: 1, fragmentsTotal: 1, framesDone: 2, percent: 100 }, stream: 's',
  start: '2024-01-01T00:00:00.000Z', end: '2024-01-01T00:01:00.000Z', sampling: 2, createdAt: '2024-01-01T00:00:00.000Z', startedAt: null, finishedAt: null, events: 1,
};

describe('report', () => {
  it('CSV: quoted fields, event rows and one row per detection (or one empty row per frame); parses back', () => {
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    expect(csvField(null)).toBe('');
    expect(csvField(0.1234567891)).toBe('0.123457');
    const ev = { id: 'e,1', trackId: '1', label: 'person', state: 'end', startTime: 1000, endTime: 2000, topScore: 0.9, box: makeBox(10, 20, 30, 40, 100, 100), zone: null, fragmentNumbers: ['9'], snapshot: null } as unknown as StoredEvent;
    const report = buildReport(job, [ev], [
      { fragmentNumber: '9', timestampMs: 1000, serverTimestampMs: 5, detected: true, sourceWidth: 100, sourceHeight: 100, detections: [
        { label: 'person', score: 0.9, box: [0.1, 0.2, 0.4, 0.6], boxPx: [10, 20, 40, 60] },
        { label: 'person', score: 0.6, box: [0.5, 0.5, 0.6, 0.7], boxPx: [50, 50, 60, 70] }] },
      { fragmentNumber: '9', timestampMs: 1500, serverTimestampMs: 5, detected: false, sourceWidth: 100, sourceHeight: 100, detections: [] },
    ]);
    expect(report.frames.map((f) => f.count)).toEqual([2, 0]);
    const rows = parseCsv(reportToCsv(report));
    expect(rows).toHaveLength(5);
    expect(rows[1]).toEqual(['event', 'e,1', '1970-01-01T00:00:01.000Z', '1970-01-01T00:00:02.000Z', '9', '', '', 'person', '0.9', '0.1', '0.2', '0.3', '0.4']);
    expect(rows[2]).toEqual(['frame', '', '1970-01-01T00:00:01.000Z', '', '9', 'true', '2', 'person', '0.9', '0.1', '0.2', '0.3', '0.4']);
    expect(rows[3]![6]).toBe('2');
    expect(rows[4]).toEqual(['frame', '', '1970-01-01T00:00:01.500Z', '', '9', 'false', '0', '', '', '', '', '', '']);
  });
});

describe('progress display', () => {
  const view = (percent: number, status = 'running') => ({ status, progress: { fragmentsDone: percent / 10, fragmentsTotal: 10, framesDone: percent, percent } });

  it('formats a bar', () => {
    expect(formatProgress(view(50), 10)).toBe('[#####-----]  50.0%  5/10 fragments  50 frames  running');
    expect(formatProgress({ status: 'queued', progress: { fragmentsDone: 0, fragmentsTotal: 0, framesDone: 0, percent: 0 } }, 4)).toBe('[----]   0.0%  ? fragments  0 frames  queued');
  });

  it('non-TTY: a line per 10 % and per status change; TTY: redrawn in place', () => {
    const out: string[] = [];
    const p = new ProgressPrinter((s) => out.push(s), false);
    for (const pct of [0, 3, 9, 10, 12, 35, 35, 100]) p.update(view(pct));
    p.update(view(100, 'succeeded'));
    p.done();
    expect(out.map((l) => l.match(/(\d+\.\d)%.*\s(\w+)\n$/)!.slice(1).join(' '))).toEqual(['0.0 running', '10.0 running', '35.0 running', '100.0 running', '100.0 succeeded']);
    const tty: string[] = [];
    const t = new ProgressPrinter((s) => tty.push(s), true);
    t.update(view(10));
    t.update(view(20));
    t.done();
    expect(tty.every((s, i) => (i < 2 ? s.startsWith('\r[') : s === '\n'))).toBe(true);
    expect(tty).toHaveLength(3);
    expect(reportFormat('x/report.CSV')).toBe('csv');
    expect(reportFormat('report.json')).toBe('json');
    expect(reportFormat(undefined)).toBe('json');
  });
});

describe('resume: replayed objects map to their committed ids', () => {
  const obj = (id: string, start: number, t: number, box: number[]): TrackedObject => ({
    id, stream: 's', label: 'person', trackId: 1, startTimeMs: start, zones: ['*'], enteredZones: ['*'], active: true,
    current: { score: 0.8, box: [0, 0, 1, 1], boxNorm: box as [number, number, number, number], fragmentNumber: '1', producerTimestampMs: t, serverTimestampMs: t, frameIndex: 0 },
    best: { score: 0.8, box: [0, 0, 1, 1], boxNorm: box as [number, number, number, number], fragmentNumber: '1', producerTimestampMs: t, serverTimestampMs: t, frameIndex: 0 },
  });
  it('matches on start, latest sighting and box', () => {
    const committed = [obj('s:100:7', 100, 900, [0.1, 0.1, 0.2, 0.2]), obj('s:100:8', 100, 900, [0.5, 0.5, 0.6, 0.6])];
    const replayed = [obj('s:100:2', 100, 900, [0.5, 0.5, 0.6, 0.6]), obj('s:100:1', 100, 900, [0.1, 0.1, 0.2, 0.2]), obj('s:300:3', 300, 900, [0, 0, 1, 1])];
    expect(matchObjects(replayed, committed)).toEqual([['s:100:2', 's:100:8'], ['s:100:1', 's:100:7']]);
  });
});

/**
 * Batch analysis jobs (Kestrel addition):
 *
 *   POST /api/v1/jobs                    `{ stream, start, end, fps?, config? }` (times ISO 8601 or ms epoch) → 201 job
 *   GET  /api/v1/jobs[?limit=N]          newest first
 *   GET  /api/v1/jobs/:id
 *   POST /api/v1/jobs/:id/cancel         → the job (cancelled, or unchanged when already finished)
 *   GET  /api/v1/jobs/:id/result[?format=json|csv]   events + per-frame detections (409 while unfinished)
 *
 * Errors: 400 `{ message }` for a bad body, 404 unknown stream or job.
 */
import express, { type Response } from 'express';
import { wrap, jsonBodyErrors } from './respond.ts';
import type { JobRunner } from '../jobs/job-runner.ts';
import { JobRequestError } from '../jobs/job-types.ts';
import { buildReport, reportToCsv } from '../jobs/report.ts';

export interface JobsRouteDeps {
  jobs: JobRunner;
  /** Queued + running jobs beyond which a new one is refused (429); each runs ONNX over an archive range. */
  maxPendingJobs?: number;
  /** Counts refusals for /metrics. */
  refused?: { jobs: number };
}

const notFound = (res: Response) => void res.status(404).json({ message: 'job not found' });

export function jobsRouter(deps: JobsRouteDeps): express.Router {
  const router = express.Router({ caseSensitive: true });
  const json = express.json({ limit: '256kb', strict: false, type: () => true });

  router.post('/api/v1/jobs', json, wrap(async (req, res) => {
    const max = deps.maxPendingJobs;
    if (max !== undefined && deps.jobs.pending >= max) {
      if (deps.refused) deps.refused.jobs++;
      return void res.status(429).set('retry-after', '10').json({ message: `too many analysis jobs queued or running (limit ${max}); try again later` });
    }
    try {
      const job = await deps.jobs.submit((req.body as unknown) ?? {});
      res.status(201).location(`/api/v1/jobs/${job.id}`).json(job);
    } catch (err) {
      if (err instanceof JobRequestError) return void res.status(err.status).json({ message: err.message });
      throw err;
    }
  }));

  router.get('/api/v1/jobs', wrap(async (req, res) => {
    const raw = req.query.limit;
    let limit: number | undefined;
    if (raw !== undefined) {
      limit = Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return void res.status(400).json({ message: 'limit must be 1..1000' });
    }
    res.set('cache-control', 'no-store').json({ jobs: await deps.jobs.list(limit) });
  }));

  router.get('/api/v1/jobs/:id', wrap(async (req, res) => {
    const job = await deps.jobs.get(String(req.params.id));
    if (!job) return notFound(res);
    res.set('cache-control', 'no-store').json(job);
  }));

  router.post('/api/v1/jobs/:id/cancel', wrap(async (req, res) => {
    const job = await deps.jobs.cancel(String(req.params.id));
    if (!job) return notFound(res);
    res.json(job);
  }));

  router.get('/api/v1/jobs/:id/result', wrap(async (req, res) => {
    const format = req.query.format === undefined ? 'json' : String(req.query.format);
    if (format !== 'json' && format !== 'csv') return void res.status(400).json({ message: 'format must be json or csv' });
    const result = await deps.jobs.result(String(req.params.id));
    if (!result) return notFound(res);
    if (result.job.status === 'queued' || result.job.status === 'running') {
      return void res.status(409).json({ message: `job is ${result.job.status}`, job: result.job });
    }
    const report = buildReport(result.job, result.events, result.frames);
    res.set('cache-control', 'no-store');
    if (format === 'csv') res.type('text/csv; charset=utf-8').send(reportToCsv(report));
    else res.json(report);
  }));

  router.use('/api/v1/jobs', jsonBodyErrors);
  return router;
}

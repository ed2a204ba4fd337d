/**
 * Batch analysis jobs: the job model and the pure validation of a job request (`POST /api/v1/jobs`).
 */
import { checkDetectConfigKeys, mergeDetectConfig, resolveDetectConfig, type DetectConfig } from '../detect/detect-config.ts';
import type { NormDetection } from '../detect/filters.ts';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const FINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface JobProgress {
  fragmentsDone: number;
  fragmentsTotal: number;
  framesDone: number;
  /** 0..100, whole fragments done (100 once succeeded). */
  percent: number;
}

export interface Job {
  id: string;
  status: JobStatus;
  progress: JobProgress;
  stream: string;
  /** Range on the fragments' producer timestamps (inclusive, ms epoch) as ISO strings. */
  start: string;
  end: string;
  /** Sampled frames per second, or keyframes only (from `fps` or the stream's config). */
  sampling: number | 'keyframes';
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error?: string;
  /** Events recorded so far. */
  events: number;
}

/** A validated request (what the store keeps next to the job). */
export interface JobRequest {
  stream: string;
  startMs: number;
  endMs: number;
  fps?: number;
  /** Overrides on top of the stream's detection config. */
  config?: Partial<DetectConfig>;
}

/** One sampled frame in the report: the detections after the pipeline's filters (normalised boxes and source pixels). */
export interface FrameRecord {
  fragmentNumber: string;
  /** Producer time of the frame, ms epoch. */
  timestampMs: number;
  serverTimestampMs: number;
  /** False when the motion gate skipped the detector for this frame. */
  detected: boolean;
  sourceWidth: number;
  sourceHeight: number;
  detections: Array<{ label: string; score: number; box: NormDetection['box']; boxPx: [number, number, number, number] | null }>;
}

export class JobRequestError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 = 400,
  ) {
    super(message);
  }
}

/** ISO 8601 string or a ms epoch (number or digit string) → ms epoch; undefined when not a time. */
export function parseTime(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const s = v.trim();
  if (/^\d{1,16}$/.test(s)) return Number(s);
  // Only real dates: a year, month and day at least (Date.parse accepts too much otherwise).
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** Validates the JSON body of `POST /api/v1/jobs` (pure; the stream's existence is checked by the caller). */
export function parseJobRequest(body: unknown): JobRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new JobRequestError('body must be a JSON object');
  const b = body as Record<string, unknown>;
  const known = new Set(['stream', 'start', 'end', 'fps', 'config']);
  for (const k of Object.keys(b)) if (!known.has(k)) throw new JobRequestError(`unknown field "${k}"`);
  if (typeof b.stream !== 'string' || b.stream === '') throw new JobRequestError('stream is required');
  if (b.start === undefined) throw new JobRequestError('start is required (ISO 8601 or ms epoch)');
  if (b.end === undefined) throw new JobRequestError('end is required (ISO 8601 or ms epoch)');
  const startMs = parseTime(b.start);
  if (startMs === undefined) throw new JobRequestError('start must be an ISO 8601 time or a ms epoch');
  const endMs = parseTime(b.end);
  if (endMs === undefined) throw new JobRequestError('end must be an ISO 8601 time or a ms epoch');
  if (endMs < startMs) throw new JobRequestError('end is before start');
  const req: JobRequest = { stream: b.stream, startMs, endMs };
  if (b.fps !== undefined) {
    if (typeof b.fps !== 'number' || !Number.isFinite(b.fps) || b.fps <= 0 || b.fps > 60) throw new JobRequestError('fps must be a number in (0, 60]');
    req.fps = b.fps;
  }
  if (b.config !== undefined) {
    try {
      checkDetectConfigKeys(b.config);
      resolveDetectConfig({ ...b.config, enabled: true });
    } catch (err) {
      throw new JobRequestError((err as Error).message);
    }
    req.config = b.config;
  }
  return req;
}

/** The config a job runs with: the stream's config < the request's `config` < `fps`; always enabled. */
export function jobConfig(base: Partial<DetectConfig> | undefined, req: JobRequest): DetectConfig {
  return resolveDetectConfig(mergeDetectConfig(base, req.config, req.fps !== undefined ? { sampling: req.fps } : undefined, { enabled: true }));
}

export function percent(done: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.floor((done * 1000) / total) / 10);
}

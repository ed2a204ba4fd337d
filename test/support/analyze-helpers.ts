/** Shared parts of the batch analysis tests: pushing fixtures, a recording/slow detector, polling jobs. */
import fs from 'node:fs';
import path from 'node:path';
import { CreateStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import type { DetectionLike, DetectorLike, RgbFrame } from '../../src/detect/types.ts';
import type { Job } from '../../src/jobs/job-types.ts';
import { runFfmpeg } from '../../src/media-tools/ffmpeg.ts';
import { rawPutMedia } from './raw-put-media.ts';
import { sdkConfig } from './server.ts';
import { signedFetch } from './auth.ts';

export const FIXTURES = path.resolve('fixtures');
export const PEOPLE_MKV = path.join(FIXTURES, 'people_vtest_3s.mkv');
export const TREE_MKV = path.join(FIXTURES, 'nopeople_tree_3s.mkv');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

import { until } from './wait.ts';
export { until };

export async function createStreams(url: string, ...names: string[]): Promise<void> {
  const kv = new KinesisVideoClient(sdkConfig(url));
  for (const name of names) await kv.send(new CreateStreamCommand({ StreamName: name, DataRetentionInHours: 24 }));
  kv.destroy();
}

/** PutMedia of a whole MKV with RELATIVE timecodes anchored at startMs; returns the persisted fragment numbers. */
export async function pushMkv(url: string, stream: string, mkv: Buffer, startMs: number): Promise<string[]> {
  const res = await rawPutMedia(url, stream, [mkv], {
    'x-amzn-fragment-timecode-type': 'RELATIVE',
    'x-amzn-producer-start-timestamp': (startMs / 1000).toFixed(3),
  });
  const errors = res.acks.filter((a) => a.EventType === 'ERROR');
  if (res.status !== 200 || errors.length) throw new Error(`PutMedia failed: ${res.status} ${JSON.stringify(errors)}`);
  return res.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
}

/** 2 s of grey frames at the fixtures' size (1 s GOPs): people leave, events end. */
export async function blankClip(dir: string): Promise<Buffer> {
  const file = path.join(dir, 'blank.mkv');
  if (!fs.existsSync(file)) {
    await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=768x576:r=10:d=2', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
      '-g', '10', '-keyint_min', '10', '-sc_threshold', '0', '-f', 'matroska', file]);
  }
  return fs.readFileSync(file);
}

/** Wraps a detector: records every call's output (in call order), optionally slowed down. */
export class RecordingDetector implements DetectorLike {
  readonly calls: DetectionLike[][] = [];
  constructor(
    private readonly inner: DetectorLike,
    private readonly delayMs = 0,
  ) {}
  get inputSize() {
    return this.inner.inputSize;
  }
  async detect(frame: RgbFrame): Promise<DetectionLike[]> {
    if (this.delayMs) await sleep(this.delayMs);
    const out = await this.inner.detect(frame);
    this.calls.push(out);
    return out;
  }
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await signedFetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await signedFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function waitForJob(url: string, id: string, statuses: readonly string[] = ['succeeded', 'failed', 'cancelled'], timeoutMs = 120_000): Promise<Job> {
  let job: Job | undefined;
  await until(async () => {
    job = await getJson<Job>(`${url}/api/v1/jobs/${id}`);
    return statuses.includes(job.status);
  }, `job ${id} to reach ${statuses.join('/')} (last: ${job?.status})`, timeoutMs);
  return job!;
}

/** Paced whole-fragment uploads for the latency benchmarks. */
import type { Producer } from './http.ts';
import type { SyntheticCamera } from './mkv.ts';

export interface PacedRun {
  /** sentAt[i][k]: when the last byte of producer i's fragment k was handed to the kernel. */
  sentAt: number[][];
  /** PERSISTED ACK arrival − sentAt, all producers, ms; each stream's first fragment (warm-up: file creation) left out. */
  latencies: number[];
}

/** Fragments per stream left out of the latency sample (first segment file, first index rows). */
export const WARMUP = 1;

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));

/**
 * Each producer sends `fragments` whole clusters, one every `intervalMs`, producers staggered
 * evenly within the interval so their fragments do not arrive together. Ends every body and
 * waits for the responses.
 */
export async function sendPaced(opts: {
  producers: readonly Producer[];
  header: Buffer;
  cam: SyntheticCamera;
  fragments: number;
  intervalMs: number;
}): Promise<PacedRun> {
  const { producers, header, cam, fragments, intervalMs } = opts;
  const base = Date.now();
  const t0 = performance.now() + 100;
  const sentAt = producers.map(() => [] as number[]);
  await Promise.all(
    producers.map(async (p, i) => {
      await p.send([header]);
      const offset = (i * intervalMs) / producers.length;
      for (let k = 0; k < fragments; k++) {
        await sleepUntil(t0 + offset + k * intervalMs);
        await p.send(cam.cluster(base + k * 1000), (at) => (sentAt[i]![k] = at));
      }
      // Give the last PERSISTED time to arrive before ending the body (ending may flush differently).
      await sleepUntil(performance.now() + intervalMs);
      await p.end();
    }),
  );
  const latencies: number[] = [];
  producers.forEach((p, i) =>
    p.persistedAt.forEach((at, k) => {
      const s = sentAt[i]![k];
      if (s !== undefined && k >= WARMUP) latencies.push(at - s);
    }),
  );
  return { sentAt, latencies };
}

export function producerErrors(producers: readonly Producer[], fragments: number): string[] {
  return producers.flatMap((p) => [
    ...p.errors,
    ...p.errorAcks.map((a) => `ERROR ACK ${a.ErrorCode}`),
    ...(p.persistedAt.length !== fragments ? [`${p.persistedAt.length}/${fragments} PERSISTED`] : []),
  ]);
}

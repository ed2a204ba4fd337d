/** One snapshot of what the HTTP edge refused or slowed down (tests and /metrics read it). */
import type { CallLimiter, ConcurrencyGate } from './api/admission.ts';
import type { ConnectionStats } from './api/connection-guard.ts';
import type { ScreeningStats } from './api/host-check.ts';
import type { IngestService } from './ingest/ingest-service.ts';

export interface EdgeStats {
  connections: ConnectionStats;
  refused: {
    host: number;
    origin: number;
    callRate: number;
    clips: number;
    images: number;
    jobs: number;
  };
  active: { clips: number; images: number };
  putMediaThrottledReads: number;
  ffmpegQueued: number;
}

export function edgeStats(o: {
  connections: ConnectionStats;
  screening: ScreeningStats;
  calls: CallLimiter;
  clipGate: ConcurrencyGate;
  imagesGate: ConcurrencyGate;
  refusedJobs: { jobs: number };
  ingest: IngestService;
  ffmpegQueued: () => number;
}): EdgeStats {
  return {
    connections: { ...o.connections },
    refused: {
      host: o.screening.refusedHost,
      origin: o.screening.refusedOrigin,
      callRate: o.calls.refused,
      clips: o.clipGate.refused,
      images: o.imagesGate.refused,
      jobs: o.refusedJobs.jobs,
    },
    active: { clips: o.clipGate.active, images: o.imagesGate.active },
    putMediaThrottledReads: o.ingest.throttledReads,
    ffmpegQueued: o.ffmpegQueued(),
  };
}

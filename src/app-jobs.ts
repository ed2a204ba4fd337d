/**
 * Composition of batch analysis (src/jobs) for `kestrel serve`, with or without `--detect`: the job
 * store from the work stores (SQLite or PostgreSQL, src/app-work-stores.ts), archived fragments from the index + media store, and a detector
 * loaded on the first job (CenterNet by default).
 */
import { createDetector } from './detect/create-detector.ts';
import type { DetectConfigService } from './detect/detect-config-service.ts';
import type { DetectorLike } from './detect/types.ts';
import type { EventStore } from './events/event-store.ts';
import { StoreArchiveFragments } from './jobs/archive-fragments.ts';
import { JobRunner } from './jobs/job-runner.ts';
import type { JobStore } from './jobs/job-store.ts';
import type { SnapshotStore } from './notify/snapshot-store.ts';
import type { Logger } from './shared/logger.ts';
import type { FragmentIndex, MediaStore, StreamRepository } from './store/types.ts';

export interface JobSettings {
  /** Jobs analysed at the same time on this node; default 1. */
  concurrency?: number;
  /** A ready detector (tests); default `detection.detector`, else CenterNet loaded on the first job. */
  detector?: DetectorLike;
}

export interface Jobs {
  runner: JobRunner;
  /** Stops running jobs where they are (they resume on the next start) and unloads the detector. */
  stop(): Promise<void>;
}

export function createJobs(o: {
  store: JobStore;
  settings?: JobSettings;
  /** Injected detector from the detection settings (tests). */
  detectionDetector?: DetectorLike;
  accountId: string;
  streams: StreamRepository;
  index: FragmentIndex;
  media: MediaStore;
  events: EventStore;
  snapshots: SnapshotStore;
  detectConfig: DetectConfigService;
  /** Shared job store (PostgreSQL, several nodes): this node's stable id; jobs run under a lease (JobRunnerOptions.lease). */
  nodeId?: string;
  log: Logger;
}): Jobs {
  const given = o.settings?.detector ?? o.detectionDetector;
  let loaded: Promise<{ detector: DetectorLike; close?: () => Promise<void> }> | undefined;
  const detector = async (): Promise<DetectorLike> => {
    loaded ??= given
      ? Promise.resolve({ detector: given })
      : createDetector({ type: 'centernet' }).then((d) => ({ detector: d, close: () => d.close() }));
    loaded.catch(() => (loaded = undefined));
    return (await loaded).detector;
  };
  const runner = new JobRunner({
    store: o.store,
    events: o.events,
    archive: new StoreArchiveFragments({ index: o.index, media: o.media }),
    lookupStream: async (name) => {
      const rec = await o.streams.getByName(name);
      return rec && rec.status !== 'DELETING' ? { id: rec.id, name: rec.name, arn: rec.arn } : undefined;
    },
    detector,
    baseConfig: (stream) => o.detectConfig.resolver.partial(stream),
    accountId: o.accountId,
    snapshots: o.snapshots,
    ...(o.settings?.concurrency !== undefined ? { concurrency: o.settings.concurrency } : {}),
    ...(o.nodeId !== undefined ? { lease: { owner: o.nodeId } } : {}),
    onLog: (line) => o.log.info(line),
  });
  return {
    runner,
    stop: async () => {
      await runner.stop();
      const l = await loaded?.catch(() => undefined);
      await l?.close?.().catch(() => undefined);
    },
  };
}

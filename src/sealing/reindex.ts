import { randomBytes } from 'node:crypto';
import type { Logger } from '../shared/logger.ts';
import { SEALED_FOOTER_BYTES, parseSealedFooter, parseSealedTrailer, type SealedIndex } from '../mkv/sealed-object.ts';
import type { FragmentIndex, MediaLocationIndex, StreamRecord, StreamRepository } from '../store/types.ts';
import { joinKey, type ObjectStore } from '../store/objects/object-store.ts';

export interface ReindexReport {
  objects: number;
  fragmentsAdded: number;
  /** Already in the index (a re-run, or the same fragment in two objects). */
  fragmentsKnown: number;
  streamsCreated: string[];
  /** Objects that are not sealed objects or are damaged: key and reason. */
  skipped: Array<{ key: string; reason: string }>;
}

/**
 * Rebuilds the fragment index from the sealed objects under `<prefix>/streams/` alone: per object,
 * two ranged GETs (footer, then the Tags trailer) and one for the MKV header — never the media.
 * Missing streams are created from what the objects say (name, ARN, retention). Idempotent.
 */
export async function reindexFromObjects(deps: {
  objects: ObjectStore;
  prefix: string;
  streams: StreamRepository;
  index: FragmentIndex & MediaLocationIndex;
  now?: () => number;
  log: Logger;
}): Promise<ReindexReport> {
  const report: ReindexReport = { objects: 0, fragmentsAdded: 0, fragmentsKnown: 0, streamsCreated: [], skipped: [] };
  const now = deps.now ?? Date.now;
  for await (const object of deps.objects.list(joinKey(deps.prefix, 'streams') + '/')) {
    if (!object.key.endsWith('.mkv')) continue;
    report.objects++;
    let sealed: SealedIndex;
    let header: Buffer;
    try {
      if (object.size < SEALED_FOOTER_BYTES) throw new Error('too small to be a sealed object');
      const at = parseSealedFooter(await deps.objects.get(object.key, { offset: object.size - SEALED_FOOTER_BYTES, length: SEALED_FOOTER_BYTES }), object.size);
      sealed = parseSealedTrailer(await deps.objects.get(object.key, at));
      header = await deps.objects.get(object.key, { offset: 0, length: sealed.headerLength });
    } catch (err) {
      report.skipped.push({ key: object.key, reason: (err as Error).message });
      deps.log.warn({ key: object.key, err }, 'not a readable sealed object; skipped');
      continue;
    }
    const stream = await streamFor(deps.streams, sealed, now(), report);
    const headerId = await deps.index.putHeader(stream.id, header);
    const added = [];
    for (const f of sealed.fragments) {
      if (await deps.index.get(stream.id, f.fragmentNumber)) {
        report.fragmentsKnown++;
        continue;
      }
      await deps.index.insert({
        streamId: stream.id,
        fragmentNumber: f.fragmentNumber,
        producerTimestampMs: f.producerTimestampMs,
        serverTimestampMs: f.serverTimestampMs,
        durationMs: f.durationMs,
        sizeBytes: f.sizeBytes,
        headerId,
        // No local copy: the segment name stays empty and the object holds the bytes.
        location: { segment: '', offset: 0, length: f.length, object: { key: object.key, offset: f.offset } },
        tags: f.tags,
        flags: f.flags,
      });
      added.push({ fragmentNumber: f.fragmentNumber, object: { key: object.key, offset: f.offset } });
    }
    await deps.index.markSealed(stream.id, added);
    report.fragmentsAdded += added.length;
  }
  return report;
}

async function streamFor(streams: StreamRepository, sealed: SealedIndex, nowMs: number, report: ReindexReport): Promise<StreamRecord> {
  const existing = await streams.getByName(sealed.streamName);
  if (existing) return existing;
  report.streamsCreated.push(sealed.streamName);
  return streams.create({
    name: sealed.streamName,
    arn: sealed.streamArn,
    version: randomBytes(10).toString('hex'),
    status: 'ACTIVE',
    creationTimeMs: nowMs,
    dataRetentionInHours: sealed.retentionHours,
    mediaType: null,
    deviceName: null,
    kmsKeyId: defaultKmsKeyFor(sealed.streamArn),
    tags: {},
    storageTier: 'HOT',
    imageGenerationConfig: null,
    notificationConfig: null,
  });
}

/** The default key of the stream's region and account (arn:aws:kinesisvideo:REGION:ACCOUNT:stream/…). */
function defaultKmsKeyFor(streamArn: string): string {
  const [, , , region = 'us-east-1', account = '000000000000'] = streamArn.split(':');
  return `arn:aws:kms:${region}:${account}:alias/aws/kinesisvideo`;
}

import type { Logger } from '../shared/logger.ts';
import type { FragmentIndex, MediaStore, StreamRepository } from './types.ts';

/**
 * Startup consistency after a crash or kill -9. Bytes are fsynced before their index row is
 * committed, so the only expected damage is orphan bytes: segment tails past the last committed
 * fragment, segments no row references, and media of streams that no longer exist. Rows whose
 * bytes are missing (disk trouble) are dropped rather than served broken.
 *
 * With an index shared by several nodes (`sharedIndex`), rows of one stream may point at segments on
 * other nodes, and segment names are only unique per node, so nothing here can tell this node's rows
 * from another's: only media of streams that no longer exist is removed, and the per-segment
 * reconciliation is skipped. (Orphan tails then stay on disk unreferenced: the next append opens a
 * new segment.) Node-scoped reconciliation needs node-qualified media locations (issue 10, item 4).
 */
export async function recoverStorage(deps: {
  streams: StreamRepository;
  index: FragmentIndex;
  media: MediaStore;
  log: Logger;
  sharedIndex?: boolean;
}): Promise<void> {
  const { streams, index, media, log } = deps;
  const known = new Set((await streams.list({ limit: Number.MAX_SAFE_INTEGER })).map((s) => s.id));
  const onDisk = await media.streamIds();
  if (deps.sharedIndex) log.info('shared index: recovery removes only media of deleted streams (rows may belong to other nodes)');
  // With a shared index, only streams with media on this node are looked at.
  for (const streamId of new Set(deps.sharedIndex ? onDisk : [...onDisk, ...known])) {
    if (!known.has(streamId)) {
      // A stream deleted while we were down (or mid-delete): nothing of it may survive.
      await index.deleteStream(streamId);
      await media.removeStream(streamId);
      log.info({ streamId }, 'removed media of a deleted stream');
      continue;
    }
    if (deps.sharedIndex) continue;
    const ends = await index.committedEnds(streamId);
    for (const segment of await media.segments(streamId)) {
      const size = await media.segmentSize(streamId, segment);
      const end = ends.get(segment);
      if (end === undefined) {
        await media.removeSegments(streamId, [segment]);
        log.info({ streamId, segment, bytes: size }, 'removed unreferenced segment');
      } else if (size > end) {
        await media.truncate(streamId, segment, end);
        log.info({ streamId, segment, bytes: size - end }, 'truncated orphan bytes');
      } else if (size < end) {
        const dropped = await index.deleteBeyond(streamId, segment, size);
        log.warn({ streamId, segment, dropped }, 'index rows without bytes removed');
      }
      ends.delete(segment);
    }
    for (const [segment] of ends) {
      const dropped = await index.deleteBeyond(streamId, segment, 0);
      log.warn({ streamId, segment, dropped }, 'index rows for a missing segment removed');
    }
  }
}

import type { SnapshotLinks } from '../events/types.ts';
import { annotateJpeg, type AnnotationBox } from '../media-tools/annotate.ts';
import { snapshotKey, type SnapshotKeyParts, type SnapshotStore } from './snapshot-store.ts';

export interface CaptureInput {
  /** The frame as JPEG: stored as-is as the clean snapshot. */
  jpeg: Buffer;
  boxes: readonly AnnotationBox[];
  key: Omit<SnapshotKeyParts, 'variant' | 'ext'>;
  /** S3 user metadata, e.g. from kvsImageMetadata(). */
  metadata?: Record<string, string>;
}

/**
 * Stores the clean frame and its annotated copy; returns the links for DetectionEvent.snapshot.
 * If annotation fails the clean snapshot is still returned (annotated omitted).
 */
export async function captureSnapshots(
  store: SnapshotStore,
  input: CaptureInput,
  annotate: (jpeg: Buffer, boxes: readonly AnnotationBox[]) => Promise<Buffer> = annotateJpeg,
): Promise<SnapshotLinks> {
  const cleanKey = snapshotKey({ ...input.key, variant: 'clean' });
  const annKey = snapshotKey({ ...input.key, variant: 'annotated' });
  const meta = input.metadata ?? {};
  const [clean, annotated] = await Promise.all([
    store.put(cleanKey, input.jpeg, 'image/jpeg', meta),
    annotate(input.jpeg, input.boxes).then(
      (img) => store.put(annKey, img, 'image/jpeg', meta),
      () => undefined,
    ),
  ]);
  const links: SnapshotLinks = { clean: { key: cleanKey, url: clean.url } };
  if (annotated) links.annotated = { key: annKey, url: annotated.url };
  return links;
}

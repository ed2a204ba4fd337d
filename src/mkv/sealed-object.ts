/**
 * The sealed-object format: one immutable S3 object per group of fragments that share an MKV
 * header, readable without any index.
 *
 *   [MKV header]        EBML header + unknown-size Segment + Info/Tracks, exactly as ingest stored it
 *   [fragment bytes]…   the stored clusters (with producer tags), back to back, in fragment order
 *   [Tags]              one SimpleTag KESTREL_SEALED_INDEX whose value is the JSON SealedIndex
 *   [Void footer]       a fixed 23-byte EBML Void: magic "KSTRLIDX", version, offset and length of the Tags
 *
 * The whole object is a playable MKV (players skip Tags they do not know and Void). `reindex` reads
 * the footer (one ranged GET of the last 23 bytes) and the Tags (one more), never the media.
 * Pure code: no I/O.
 */
import { element, stringElement } from './writer.ts';
import { parseTags } from './metadata-parsers.ts';
import { MKV_ID } from './ids.ts';
import { readElementId, readElementSize } from './ebml.ts';

export const SEALED_INDEX_TAG = 'KESTREL_SEALED_INDEX';
export const SEALED_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('KSTRLIDX', 'latin1');
const FOOTER_PAYLOAD = MAGIC.length + 1 + 8 + 4; // magic, version, u64 trailer offset, u32 trailer length
/** Void id (1 byte) + 1-byte size + payload. */
export const SEALED_FOOTER_BYTES = 2 + FOOTER_PAYLOAD;

/** What the index knows of one fragment, with its place inside the object. */
export interface SealedFragment {
  fragmentNumber: string;
  producerTimestampMs: number;
  serverTimestampMs: number;
  durationMs: number;
  sizeBytes: number;
  flags: number;
  tags: Record<string, string>;
  /** Byte offset of the fragment inside the object, and its length. */
  offset: number;
  length: number;
}

export interface SealedIndex {
  version: number;
  streamName: string;
  streamArn: string;
  /** Fencing epoch of the owner that wrote it (0 on a single node). */
  epoch: number;
  /** The stream's DataRetentionInHours when sealed (reindex re-creates a missing stream with it). */
  retentionHours: number;
  headerLength: number;
  fragments: SealedFragment[];
}

export type SealedFragmentInput = Omit<SealedFragment, 'offset' | 'length'> & { bytes: readonly Buffer[] };

export interface SealedObject {
  /** The object's bytes in order (concatenate or stream them). */
  chunks: Buffer[];
  size: number;
  index: SealedIndex;
}

export function buildSealedObject(input: { streamName: string; streamArn: string; epoch: number; retentionHours: number; header: Buffer; fragments: readonly SealedFragmentInput[] }): SealedObject {
  if (input.fragments.length === 0) throw new Error('a sealed object needs at least one fragment');
  const chunks: Buffer[] = [input.header];
  let offset = input.header.length;
  const fragments: SealedFragment[] = [];
  for (const f of input.fragments) {
    const length = f.bytes.reduce((n, b) => n + b.length, 0);
    const { bytes: _bytes, ...facts } = f;
    fragments.push({ ...facts, offset, length });
    chunks.push(...f.bytes);
    offset += length;
  }
  const index: SealedIndex = { version: SEALED_FORMAT_VERSION, streamName: input.streamName, streamArn: input.streamArn, epoch: input.epoch, retentionHours: input.retentionHours, headerLength: input.header.length, fragments };
  const trailer = element(MKV_ID.Tags, [element(MKV_ID.Tag, [element(MKV_ID.SimpleTag, [stringElement(MKV_ID.TagName, SEALED_INDEX_TAG), stringElement(MKV_ID.TagString, JSON.stringify(index))])])]);
  chunks.push(trailer, sealedFooter(offset, trailer.length));
  return { chunks, size: offset + trailer.length + SEALED_FOOTER_BYTES, index };
}

function sealedFooter(trailerOffset: number, trailerLength: number): Buffer {
  const footer = Buffer.alloc(SEALED_FOOTER_BYTES);
  footer[0] = MKV_ID.Void;
  footer[1] = 0x80 | FOOTER_PAYLOAD;
  MAGIC.copy(footer, 2);
  footer[2 + MAGIC.length] = SEALED_FORMAT_VERSION;
  footer.writeBigUInt64BE(BigInt(trailerOffset), 3 + MAGIC.length);
  footer.writeUInt32BE(trailerLength, 11 + MAGIC.length);
  return footer;
}

/** Where the trailer sits, from the object's last SEALED_FOOTER_BYTES bytes; throws when it is not a sealed object. */
export function parseSealedFooter(tail: Buffer, objectSize: number): { offset: number; length: number } {
  if (tail.length !== SEALED_FOOTER_BYTES || tail[0] !== MKV_ID.Void || tail[1] !== (0x80 | FOOTER_PAYLOAD) || !tail.subarray(2, 2 + MAGIC.length).equals(MAGIC)) {
    throw new Error('not a Kestrel sealed object (no KSTRLIDX footer)');
  }
  const version = tail[2 + MAGIC.length]!;
  if (version !== SEALED_FORMAT_VERSION) throw new Error(`sealed object format version ${version} is not supported`);
  const offset = Number(tail.readBigUInt64BE(3 + MAGIC.length));
  const length = tail.readUInt32BE(11 + MAGIC.length);
  if (offset + length + SEALED_FOOTER_BYTES !== objectSize) throw new Error('sealed object footer does not match the object size');
  return { offset, length };
}

/** The SealedIndex from the trailer's bytes (the Tags element), checked for shape. */
export function parseSealedTrailer(trailer: Buffer): SealedIndex {
  const id = readElementId(trailer, 0);
  if (!id || id.id !== MKV_ID.Tags) throw new Error('sealed object trailer is not an MKV Tags element');
  const size = readElementSize(trailer, id.length);
  if (!size || size.unknown || id.length + size.length + size.size !== trailer.length) throw new Error('sealed object trailer has a bad size');
  const tag = parseTags(trailer, id.length + size.length, 0).find((t) => t.name === SEALED_INDEX_TAG);
  if (!tag) throw new Error(`sealed object trailer has no ${SEALED_INDEX_TAG} tag`);
  const index = JSON.parse(tag.value) as SealedIndex;
  if (index.version !== SEALED_FORMAT_VERSION || typeof index.streamName !== 'string' || !Array.isArray(index.fragments)) {
    throw new Error('sealed object index is malformed');
  }
  let end = index.headerLength;
  for (const f of index.fragments) {
    if (!/^\d{47}$/.test(f.fragmentNumber) || f.offset !== end || !(f.length > 0)) throw new Error(`sealed object index entry ${String(f.fragmentNumber)} is malformed`);
    end += f.length;
  }
  return index;
}

/**
 * `<prefix>/streams/<stream>/<epoch>/<first>-<last>.mkv`: stream names are [a-zA-Z0-9_.-] (KVS), the
 * epoch is zero-padded so keys sort by it, and fragment numbers are fixed-width, so a listing of a
 * stream's folder is in ingest order.
 */
export function sealedObjectKey(prefix: string, streamName: string, epoch: number, firstFragmentNumber: string, lastFragmentNumber: string): string {
  return [prefix, 'streams', streamName, String(epoch).padStart(10, '0'), `${firstFragmentNumber}-${lastFragmentNumber}.mkv`].filter((p) => p !== '').join('/');
}

/** Public API of the MKV module: streaming parser, byte builders, IDs and KVS tag names. */
export { MkvStreamParser, DEFAULT_MKV_LIMITS } from './stream-parser.ts';
export { MkvError } from './errors.ts';
export type { MkvErrorKind } from './errors.ts';
export type { MkvEvent, MkvEventType, MkvLimits, TrackEntry, BlockInfo, SimpleTag, Lacing } from './types.ts';
export { MKV_ID, TRACK_TYPE, CLUSTER_CHILD_IDS, idHex, describeId } from './ids.ts';
export type { MkvIdName } from './ids.ts';
export {
  UNKNOWN_SIZE,
  MAX_ID_LENGTH,
  MAX_SIZE_LENGTH,
  vintWidth,
  readVint,
  readSignedVint,
  readElementId,
  readElementSize,
  readChildren,
  minimalVintWidth,
  encodeVint,
  encodeSignedVint,
  encodeSize,
  encodeUnknownSize,
  encodeElementId,
  encodeUint,
  encodeInt,
  readUint,
  readUintBig,
  readInt,
  readFloat,
  readString,
  readUtf8,
} from './ebml.ts';
export type { VintRead, EbmlChild } from './ebml.ts';
export { DEFAULT_TIMECODE_SCALE } from './metadata-parsers.ts';
export {
  element,
  uintElement,
  intElement,
  floatElement,
  stringElement,
  unknownSizeHeader,
  ebmlHeader,
  segmentElement,
  infoElement,
  tracksElement,
  simpleBlock,
  blockGroup,
  clusterElement,
  tagsElement,
} from './writer.ts';
export type { BlockContent } from './writer.ts';
export { KVS_TAG, isReservedTagName } from './kvs-tags.ts';
export type { KvsTagName } from './kvs-tags.ts';

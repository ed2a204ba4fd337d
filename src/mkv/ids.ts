/**
 * Matroska/EBML element IDs, written with their vint marker bits (as they appear on the wire).
 * Names follow the Matroska specification (Timecode = Timestamp in newer revisions).
 */
export const MKV_ID = {
  // EBML header
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,

  // Global elements, legal at any level
  Void: 0xec,
  CRC32: 0xbf,

  Segment: 0x18538067,

  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,

  Info: 0x1549a966,
  SegmentUID: 0x73a4,
  SegmentFilename: 0x7384,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  DateUTC: 0x4461,
  Title: 0x7ba9,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,

  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagEnabled: 0xb9,
  FlagDefault: 0x88,
  FlagForced: 0x55aa,
  FlagLacing: 0x9c,
  DefaultDuration: 0x23e383,
  Name: 0x536e,
  Language: 0x22b59c,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecName: 0x258688,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  DisplayWidth: 0x54b0,
  DisplayHeight: 0x54ba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  OutputSamplingFrequency: 0x78b5,
  Channels: 0x9f,
  BitDepth: 0x6264,

  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  SilentTracks: 0x5854,
  Position: 0xa7,
  PrevSize: 0xab,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  BlockAdditions: 0x75a1,
  BlockDuration: 0x9b,
  ReferencePriority: 0xfa,
  ReferenceBlock: 0xfb,
  CodecState: 0xa4,
  DiscardPadding: 0x75a2,
  EncryptedBlock: 0xaf,

  Cues: 0x1c53bb6b,
  CuePoint: 0xbb,
  Chapters: 0x1043a770,
  Attachments: 0x1941a469,

  Tags: 0x1254c367,
  Tag: 0x7373,
  Targets: 0x63c0,
  SimpleTag: 0x67c8,
  TagName: 0x45a3,
  TagLanguage: 0x447a,
  TagDefault: 0x4484,
  TagString: 0x4487,
  TagBinary: 0x4485,
} as const;

export type MkvIdName = keyof typeof MKV_ID;

/** Matroska TrackType values. */
export const TRACK_TYPE = {
  Video: 1,
  Audio: 2,
  Complex: 3,
  Logo: 0x10,
  Subtitle: 0x11,
  Buttons: 0x12,
  Control: 0x20,
  Metadata: 0x21,
} as const;

/**
 * IDs that may appear directly inside a Cluster. An unknown-size Cluster ends at the first
 * element whose ID is not in this set (that is how live producers' clusters are delimited).
 */
export const CLUSTER_CHILD_IDS: ReadonlySet<number> = new Set<number>([
  MKV_ID.Timecode,
  MKV_ID.SilentTracks,
  MKV_ID.Position,
  MKV_ID.PrevSize,
  MKV_ID.SimpleBlock,
  MKV_ID.BlockGroup,
  MKV_ID.EncryptedBlock,
  MKV_ID.Void,
  MKV_ID.CRC32,
]);

const NAMES = new Map<number, string>(Object.entries(MKV_ID).map(([name, id]) => [id, name]));

/** "0x1F43B675". */
export function idHex(id: number): string {
  return `0x${id.toString(16).toUpperCase()}`;
}

/** "Cluster (0x1F43B675)", or just the hex for IDs we do not name; for error messages. */
export function describeId(id: number): string {
  const name = NAMES.get(id);
  return name === undefined ? `element ${idHex(id)}` : `${name} (${idHex(id)})`;
}

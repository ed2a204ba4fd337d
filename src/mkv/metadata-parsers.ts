/**
 * Decoders for the level-0/1 elements the parser reads whole: EBML header, Info, Tracks, Tags.
 * Each takes the complete element bytes, the payload start inside them, and the absolute offset
 * of the element (for error messages). Unknown children are ignored, as Matroska requires.
 */
import type { Buffer } from 'node:buffer';
import { invalid } from './errors.ts';
import { readChildren, readFloat, readString, readUint, readUintBig, readUtf8 } from './ebml.ts';
import type { EbmlChild } from './ebml.ts';
import { MKV_ID } from './ids.ts';
import type { SimpleTag, TrackEntry } from './types.ts';

/** Matroska's default TimecodeScale: 1 ms per tick. */
export const DEFAULT_TIMECODE_SCALE = 1_000_000;

export function parseEbmlHeader(raw: Buffer, payloadStart: number, at: number): { docType: string; docTypeVersion: number } {
  let docType = 'matroska';
  let docTypeVersion = 1;
  for (const child of readChildren(raw, payloadStart, raw.length, at, 'EBML header')) {
    if (child.id === MKV_ID.DocType) docType = readString(child.data);
    else if (child.id === MKV_ID.DocTypeVersion) docTypeVersion = readUint(child.data, child.offset);
  }
  return { docType, docTypeVersion };
}

export function parseInfo(raw: Buffer, payloadStart: number, at: number): { timecodeScale: number } {
  let timecodeScale = DEFAULT_TIMECODE_SCALE;
  for (const child of readChildren(raw, payloadStart, raw.length, at, 'Info')) {
    if (child.id === MKV_ID.TimecodeScale) timecodeScale = readUint(child.data, child.offset);
  }
  if (timecodeScale === 0) throw invalid(`TimecodeScale 0 in Info at offset ${at}`, at);
  return { timecodeScale };
}

export function parseTracks(raw: Buffer, payloadStart: number, at: number): TrackEntry[] {
  return readChildren(raw, payloadStart, raw.length, at, 'Tracks')
    .filter((c) => c.id === MKV_ID.TrackEntry)
    .map(parseTrackEntry);
}

function parseTrackEntry(entry: EbmlChild): TrackEntry {
  let number: number | undefined;
  const track: Omit<TrackEntry, 'number'> = { type: 0, codecId: '' };
  for (const c of childrenOf(entry, 'TrackEntry')) {
    switch (c.id) {
      case MKV_ID.TrackNumber:
        number = readUint(c.data, c.offset);
        break;
      case MKV_ID.TrackUID: {
        const uid = readUintBig(c.data, c.offset);
        track.uid = uid <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(uid) : uid;
        break;
      }
      case MKV_ID.TrackType:
        track.type = readUint(c.data, c.offset);
        break;
      case MKV_ID.CodecID:
        track.codecId = readString(c.data);
        break;
      case MKV_ID.CodecPrivate:
        track.codecPrivate = c.data;
        break;
      case MKV_ID.Name:
        track.name = readUtf8(c.data);
        break;
      case MKV_ID.DefaultDuration:
        track.defaultDurationNs = readUint(c.data, c.offset);
        break;
      case MKV_ID.Video:
        track.video = parseVideo(c);
        break;
      case MKV_ID.Audio:
        track.audio = parseAudio(c);
        break;
    }
  }
  if (number === undefined) throw invalid(`TrackEntry without TrackNumber at offset ${entry.offset}`, entry.offset);
  return { number, ...track };
}

function parseVideo(video: EbmlChild): { width: number; height: number } {
  const out = { width: 0, height: 0 };
  for (const c of childrenOf(video, 'Video')) {
    if (c.id === MKV_ID.PixelWidth) out.width = readUint(c.data, c.offset);
    else if (c.id === MKV_ID.PixelHeight) out.height = readUint(c.data, c.offset);
  }
  return out;
}

function parseAudio(audio: EbmlChild): { samplingFrequency: number; channels: number } {
  // Spec defaults: 8000 Hz, 1 channel.
  const out = { samplingFrequency: 8000, channels: 1 };
  for (const c of childrenOf(audio, 'Audio')) {
    if (c.id === MKV_ID.SamplingFrequency) out.samplingFrequency = readFloat(c.data, c.offset);
    else if (c.id === MKV_ID.Channels) out.channels = readUint(c.data, c.offset);
  }
  return out;
}

/** All SimpleTags of all Tag elements, nested ones flattened after their parent. */
export function parseTags(raw: Buffer, payloadStart: number, at: number): SimpleTag[] {
  const tags: SimpleTag[] = [];
  for (const tag of readChildren(raw, payloadStart, raw.length, at, 'Tags')) {
    if (tag.id !== MKV_ID.Tag) continue;
    for (const c of childrenOf(tag, 'Tag')) if (c.id === MKV_ID.SimpleTag) collectSimpleTag(c, tags);
  }
  return tags;
}

/** Depth-first, parent before its nested tags; iterative, so deep nesting cannot overflow the stack. */
function collectSimpleTag(root: EbmlChild, out: SimpleTag[]): void {
  const pending: EbmlChild[] = [root];
  while (pending.length > 0) {
    const simpleTag = pending.pop()!;
    const tag: SimpleTag = { name: '', value: '' };
    const nested: EbmlChild[] = [];
    for (const c of childrenOf(simpleTag, 'SimpleTag')) {
      if (c.id === MKV_ID.TagName) tag.name = readUtf8(c.data);
      else if (c.id === MKV_ID.TagString) tag.value = readUtf8(c.data);
      else if (c.id === MKV_ID.TagBinary) tag.binary = c.data;
      else if (c.id === MKV_ID.SimpleTag) nested.push(c);
    }
    out.push(tag);
    for (let i = nested.length - 1; i >= 0; i--) pending.push(nested[i]!);
  }
}

/** Children of an already-delimited child, with absolute offsets kept for error messages. */
function childrenOf(parent: EbmlChild, name: string): EbmlChild[] {
  return readChildren(parent.data, 0, parent.data.length, parent.dataOffset, name);
}

import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { MkvStreamParser } from '../../../src/mkv/stream-parser.ts';
import { MKV_ID } from '../../../src/mkv/ids.ts';
import {
  clusterElement,
  element,
  ebmlHeader,
  infoElement,
  segmentElement,
  simpleBlock,
  stringElement,
  tracksElement,
  uintElement,
} from '../../../src/mkv/writer.ts';
import { AUDIO_TRACK, VIDEO_TRACK, concatRaws, frameBytes, knownSizeStream, types, wholeFeed } from './helpers.ts';

describe('writer → parser round trip', () => {
  it('reproduces header, tracks, blocks and tags of a known-size stream', () => {
    const input = knownSizeStream();
    const events = wholeFeed(input);
    expect(types(events)).toEqual([
      'ebml-header',
      'segment-start',
      'info',
      'tracks',
      ...['cluster-start', 'cluster-timecode', 'block', 'block', 'block', 'block', 'cluster-end'],
      ...['cluster-start', 'cluster-timecode', 'block', 'block', 'block', 'block', 'cluster-end'],
      'tags',
      'segment-end',
    ]);
    expect(events[0]).toMatchObject({ docType: 'webm', docTypeVersion: 2 });
    expect(events[1]).toMatchObject({ unknownSize: false });
    expect(events[2]).toMatchObject({ timecodeScale: 1_000_000 });
    const tracks = events.find((e) => e.type === 'tracks');
    expect(tracks?.type === 'tracks' && tracks.tracks).toEqual([VIDEO_TRACK, AUDIO_TRACK]);

    const timecodes = events.flatMap((e) => (e.type === 'cluster-timecode' ? [e.timecode] : []));
    expect(timecodes).toEqual([0, 160]);
    const blocks = events.flatMap((e) => (e.type === 'block' ? [e.block] : []));
    expect(blocks.map((b) => b.keyframe)).toEqual([true, false, false, false, true, false, false, false]);
    expect(blocks.map((b) => b.relativeTimecode)).toEqual([0, 40, 80, 120, 0, 40, 80, 120]);
    expect(blocks[1]).toMatchObject({ simple: true, track: 1, lacing: 'none', invisible: false, discardable: false });
    expect(blocks[1]?.frames).toEqual([frameBytes(1, 63)]);
    expect(events.at(-2)).toMatchObject({ type: 'tags', tags: [{ name: 'title', value: 'known' }] });
  });

  it('gives raws whose concatenation is the input', () => {
    const input = knownSizeStream();
    expect(concatRaws(wholeFeed(input)).equals(input)).toBe(true);
  });

  it('emits cluster-end as soon as the last byte of a known-size cluster arrives', () => {
    const head = Buffer.concat([ebmlHeader(), Buffer.from([0x18, 0x53, 0x80, 0x67]), Buffer.from('01ffffffffffffff', 'hex')]);
    const cluster = clusterElement({ timecode: 5, children: [simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frame: frameBytes(1, 10) })] });
    const parser = new MkvStreamParser();
    expect(types(parser.push(head))).toEqual(['ebml-header', 'segment-start']);
    expect(types(parser.push(cluster.subarray(0, -1)))).toEqual(['cluster-start', 'cluster-timecode']);
    expect(types(parser.push(cluster.subarray(-1)))).toEqual(['block', 'cluster-end']);
    expect(types(parser.end())).toEqual(['segment-end']);
  });

  it('closes a zero-length cluster and segment immediately', () => {
    const input = Buffer.concat([ebmlHeader(), segmentElement({ children: [element(MKV_ID.Cluster, [])] })]);
    const parser = new MkvStreamParser();
    expect(types(parser.push(input))).toEqual(['ebml-header', 'segment-start', 'cluster-start', 'cluster-end', 'segment-end']);
    expect(parser.end()).toEqual([]);
  });

  it('defaults TimecodeScale, strips the producer\'s NUL-padded DocType and keeps unknown level-1 elements', () => {
    const pic = element(MKV_ID.EBML, [stringElement(MKV_ID.DocType, 'matroska\0'), uintElement(MKV_ID.DocTypeVersion, 2)]);
    const seekHead = element(MKV_ID.SeekHead, [element(MKV_ID.Seek, [uintElement(MKV_ID.SeekPosition, 0)])]);
    const voidEl = element(MKV_ID.Void, Buffer.alloc(20));
    const input = Buffer.concat([pic, segmentElement({ children: [seekHead, voidEl, element(MKV_ID.Info, [stringElement(MKV_ID.MuxingApp, 'x')])] })]);
    const events = wholeFeed(input);
    expect(events[0]).toMatchObject({ type: 'ebml-header', docType: 'matroska', docTypeVersion: 2 });
    expect(events.slice(2, 5)).toMatchObject([
      { type: 'top-level', id: MKV_ID.SeekHead },
      { type: 'top-level', id: MKV_ID.Void },
      { type: 'info', timecodeScale: 1_000_000 },
    ]);
  });

  it('reads custom timecode scale, bigint track UIDs and audio defaults', () => {
    const input = Buffer.concat([
      ebmlHeader(),
      segmentElement({
        children: [
          infoElement({ timecodeScale: 100_000, duration: 2000 }),
          tracksElement([{ number: 3, uid: 2n ** 63n + 5n, type: 2, codecId: 'A_OPUS', audio: { samplingFrequency: 48000, channels: 2 } }]),
          element(MKV_ID.Tracks, [element(MKV_ID.TrackEntry, [uintElement(MKV_ID.TrackNumber, 4), element(MKV_ID.Audio, [])])]),
        ],
      }),
    ]);
    const events = wholeFeed(input);
    expect(events[2]).toMatchObject({ type: 'info', timecodeScale: 100_000 });
    expect(events[3]).toMatchObject({ type: 'tracks', tracks: [{ number: 3, uid: 2n ** 63n + 5n, codecId: 'A_OPUS' }] });
    expect(events[4]).toMatchObject({ type: 'tracks', tracks: [{ number: 4, type: 0, codecId: '', audio: { samplingFrequency: 8000, channels: 1 } }] });
  });
});

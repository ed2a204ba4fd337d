import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { GopClusterStream, GopReclusterer } from '../../../src/client/gop-clusters.ts';
import {
  blockGroup,
  clusterElement,
  ebmlHeader,
  element,
  infoElement,
  MKV_ID,
  MkvStreamParser,
  segmentElement,
  simpleBlock,
  tagsElement,
  tracksElement,
  type MkvEvent,
} from '../../../src/mkv/index.ts';

const VIDEO = 1;
const AUDIO = 2;
const header = (): Buffer[] => [
  ebmlHeader(),
  infoElement({ timecodeScale: 1_000_000, muxingApp: 'test' }),
  tracksElement([
    { number: VIDEO, type: 1, codecId: 'V_MPEG4/ISO/AVC', video: { width: 64, height: 48 } },
    { number: AUDIO, type: 2, codecId: 'A_AAC', audio: { samplingFrequency: 8000, channels: 1 } },
  ]),
];

interface Frame {
  track: number;
  /** Absolute timecode, ms. */
  at: number;
  key: boolean;
}
const payload = (f: Frame) => Buffer.from(`${f.track}@${f.at}`);

/** One known-size input Cluster per `perCluster` frames (ffmpeg style; perCluster=1 is what ingest asks ffmpeg for). */
function inputStream(frames: Frame[], perCluster: number, opts: { knownSegment?: boolean } = {}): Buffer {
  const [ebml, ...rest] = header();
  const clusters: Buffer[] = [];
  for (let i = 0; i < frames.length; i += perCluster) {
    const group = frames.slice(i, i + perCluster);
    const base = group[0]!.at;
    clusters.push(
      clusterElement({
        timecode: base,
        children: [
          element(MKV_ID.CRC32, Buffer.alloc(4)),
          ...group.map((f) => simpleBlock({ track: f.track, relativeTimecode: f.at - base, keyframe: f.key, frame: payload(f) })),
        ],
      }),
    );
  }
  return Buffer.concat([ebml!, segmentElement({ children: [...rest, ...clusters], unknownSize: !opts.knownSegment })]);
}

interface OutCluster {
  unknownSize: boolean;
  timecode: number;
  blocks: Array<{ track: number; rel: number; key: boolean; data: string }>;
}

function clustersOf(bytes: Buffer): { clusters: OutCluster[]; events: MkvEvent[] } {
  const p = new MkvStreamParser();
  const events = [...p.push(bytes), ...p.end()];
  const clusters: OutCluster[] = [];
  for (const e of events) {
    if (e.type === 'cluster-start') clusters.push({ unknownSize: e.unknownSize, timecode: Number.NaN, blocks: [] });
    if (e.type === 'cluster-timecode') clusters.at(-1)!.timecode = e.timecode;
    if (e.type === 'block') {
      const b = e.block;
      clusters.at(-1)!.blocks.push({ track: b.track, rel: b.relativeTimecode, key: b.keyframe, data: b.frames[0]!.toString() });
    }
  }
  return { clusters, events };
}

function recluster(input: Buffer): { out: Buffer; r: GopReclusterer } {
  const p = new MkvStreamParser();
  const r = new GopReclusterer();
  const out = Buffer.concat([...r.push(p.push(input)), ...r.push(p.end())]);
  return { out, r };
}

/** 25 fps video with a key frame every `gop` frames, plus audio every 100 ms (key, as audio always is). */
function camera(seconds: number, gop: number, startMs = 1000): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; i < seconds * 25; i++) {
    const at = startMs + i * 40;
    frames.push({ track: VIDEO, at, key: i % gop === 0 });
    if (i % 5 === 2) frames.push({ track: AUDIO, at: at + 5, key: true });
  }
  return frames;
}

describe('GopReclusterer', () => {
  it('turns one-frame clusters into one unknown-size cluster per GOP with the original timecodes and key flags', () => {
    const frames = camera(4, 50); // two 2 s GOPs
    const { out, r } = recluster(inputStream(frames, 1));
    const { clusters, events } = clustersOf(out);

    expect(clusters.map((c) => c.timecode)).toEqual([1000, 3000]);
    expect(clusters.every((c) => c.unknownSize)).toBe(true);
    expect(events.find((e) => e.type === 'segment-start')).toMatchObject({ unknownSize: true });
    // Every frame, in order, at its absolute time; only each cluster's first video frame is a key frame.
    const written = clusters.flatMap((c) => c.blocks.map((b) => ({ track: b.track, at: c.timecode + b.rel, key: b.key, data: b.data })));
    expect(written).toEqual(frames.map((f) => ({ ...f, data: payload(f).toString() })));
    for (const c of clusters) {
      expect(c.blocks[0]).toMatchObject({ track: VIDEO, rel: 0, key: true });
      expect(c.blocks.filter((b) => b.track === VIDEO && b.key)).toHaveLength(1);
    }
    // Header elements pass through unchanged; CRC-32 children are dropped.
    expect(events.filter((e) => e.type === 'tracks')).toHaveLength(1);
    expect(events.some((e) => e.type === 'cluster-child')).toBe(false);
    expect(r.stats).toMatchObject({ blocksIn: frames.length, blocksOut: frames.length, clustersOut: 2, droppedElements: 100 + 20 });
  });

  it('gives the same output whatever the input clustering (one frame, a few frames, whole GOPs)', () => {
    const frames = camera(3, 25);
    const expected = recluster(inputStream(frames, 1)).out;
    for (const per of [2, 7, 25, frames.length]) expect(recluster(inputStream(frames, per)).out.equals(expected)).toBe(true);
  });

  it('drops frames before the first video key frame (a camera joined mid-GOP)', () => {
    const frames: Frame[] = [
      { track: AUDIO, at: 0, key: true },
      { track: VIDEO, at: 0, key: false },
      { track: VIDEO, at: 40, key: false },
      { track: VIDEO, at: 80, key: true },
      { track: AUDIO, at: 90, key: true },
      { track: VIDEO, at: 120, key: false },
    ];
    const { out, r } = recluster(inputStream(frames, 1));
    const { clusters } = clustersOf(out);
    expect(clusters).toEqual([
      {
        unknownSize: true,
        timecode: 80,
        blocks: [
          { track: VIDEO, rel: 0, key: true, data: '1@80' },
          { track: AUDIO, rel: 10, key: true, data: '2@90' },
          { track: VIDEO, rel: 40, key: false, data: '1@120' },
        ],
      },
    ]);
    expect(r.stats.droppedBeforeKeyFrame).toBe(3);
  });

  it('keeps audio that is slightly older than the key frame in the new cluster (negative offset)', () => {
    const frames: Frame[] = [
      { track: VIDEO, at: 1000, key: true },
      { track: VIDEO, at: 1040, key: true },
      { track: AUDIO, at: 1030, key: true },
    ];
    const { clusters } = clustersOf(recluster(inputStream(frames, 1)).out);
    expect(clusters.map((c) => [c.timecode, c.blocks.map((b) => b.rel)])).toEqual([
      [1000, [0]],
      [1040, [0, -10]],
    ]);
  });

  it('starts a new cluster when a GOP outgrows the int16 block offset, and counts it', () => {
    const frames: Frame[] = [
      { track: VIDEO, at: 0, key: true },
      { track: VIDEO, at: 30_000, key: false },
      { track: VIDEO, at: 40_000, key: false },
      { track: VIDEO, at: 41_000, key: false },
    ];
    const { out, r } = recluster(inputStream(frames, 1));
    const { clusters } = clustersOf(out);
    expect(clusters.map((c) => [c.timecode, c.blocks.map((b) => [b.rel, b.key])])).toEqual([
      [0, [[0, true], [30_000, false]]],
      [40_000, [[0, false], [1000, false]]],
    ]);
    expect(r.stats.forcedCuts).toBe(1);
  });

  it('without a video track, cuts a cluster at the first key frame 2 s or more into the current one', () => {
    const [ebml, info] = header();
    const audio = Array.from({ length: 250 }, (_, i) => ({ track: 1, at: i * 21, key: true }));
    const clusters = audio.map((f) => clusterElement({ timecode: f.at, children: [simpleBlock({ track: 1, relativeTimecode: 0, keyframe: true, frame: payload(f) })] }));
    const tracks = tracksElement([{ number: 1, type: 2, codecId: 'A_OPUS', audio: { samplingFrequency: 48000, channels: 1 } }]);
    const input = Buffer.concat([ebml!, segmentElement({ unknownSize: true, children: [info!, tracks, ...clusters] })]);
    const { clusters: out } = clustersOf(recluster(input).out);
    expect(out.map((c) => c.timecode)).toEqual([0, 2016, 4032]);
    expect(out.flatMap((c) => c.blocks)).toHaveLength(250);
  });

  it('turns a BlockGroup into a SimpleBlock with the same frame and key flag', () => {
    const [ebml, ...rest] = header();
    const input = Buffer.concat([
      ebml!,
      segmentElement({
        unknownSize: true,
        children: [
          ...rest,
          clusterElement({ timecode: 500, children: [blockGroup({ track: VIDEO, relativeTimecode: 0, frame: Buffer.from('key') })] }),
          clusterElement({ timecode: 540, children: [blockGroup({ track: VIDEO, relativeTimecode: 0, frame: Buffer.from('delta'), referenceBlocks: [-40] })] }),
        ],
      }),
    ]);
    const { clusters, events } = clustersOf(recluster(input).out);
    expect(clusters).toEqual([
      {
        unknownSize: true,
        timecode: 500,
        blocks: [
          { track: VIDEO, rel: 0, key: true, data: 'key' },
          { track: VIDEO, rel: 40, key: false, data: 'delta' },
        ],
      },
    ]);
    expect(events.filter((e) => e.type === 'block').every((e) => e.type === 'block' && e.block.simple)).toBe(true);
  });

  it('makes a known-size Segment unknown-size and holds mid-GOP Tags until the next cluster', () => {
    const frames = camera(1, 10, 0);
    const [ebml, ...rest] = header();
    // One known-size cluster per frame, with a Tags element after the 3rd.
    const pieces = frames.map((f) =>
      clusterElement({ timecode: f.at, children: [simpleBlock({ track: f.track, relativeTimecode: 0, keyframe: f.key, frame: payload(f) })] }),
    );
    pieces.splice(3, 0, tagsElement([{ name: 'note', value: 'hi' }]));
    const input = Buffer.concat([ebml!, segmentElement({ children: [...rest, ...pieces] })]);
    const { events } = clustersOf(recluster(input).out);
    expect(events.find((e) => e.type === 'segment-start')).toMatchObject({ unknownSize: true });
    const order = events.filter((e) => e.type === 'cluster-start' || e.type === 'tags').map((e) => e.type);
    expect(order).toEqual(['cluster-start', 'tags', 'cluster-start', 'cluster-start']);
  });
});

describe('GopClusterStream', () => {
  it('writes each frame on as soon as its input cluster is complete, whatever the chunking', async () => {
    const frames = camera(2, 50);
    const input = inputStream(frames, 1);
    const stream = new GopClusterStream();
    const out: Buffer[] = [];
    stream.on('data', (c: Buffer) => out.push(c));
    // Feed the input in 7-byte chunks; after each input cluster's last byte, its frame must be out.
    const p = new MkvStreamParser();
    let fed = 0;
    let blocksFed = 0;
    for (let i = 0; i < input.length; i += 7) {
      const chunk = input.subarray(i, i + 7);
      blocksFed += p.push(chunk).filter((e) => e.type === 'block').length;
      await new Promise<void>((resolve, reject) => stream.write(chunk, (err) => (err ? reject(err) : resolve())));
      fed += chunk.length;
      const parsed = new MkvStreamParser().push(Buffer.concat(out)).filter((e) => e.type === 'block').length;
      expect(parsed).toBe(blocksFed);
    }
    expect(fed).toBe(input.length);
    stream.end();
    await new Promise((r) => stream.once('finish', r));
    expect(Buffer.concat(out).equals(recluster(input).out)).toBe(true);
    expect(stream.stats.clustersOut).toBe(1);
  });

  it('ends cleanly when the input is cut mid-frame (ffmpeg killed): the frames before it form a valid cluster', async () => {
    const frames = camera(1, 50, 0).filter((f) => f.track === VIDEO);
    const input = inputStream(frames, 1);
    const stream = new GopClusterStream();
    const out: Buffer[] = [];
    stream.on('data', (c: Buffer) => out.push(c));
    const finished = new Promise((resolve, reject) => (stream.once('end', resolve), stream.once('error', reject)));
    stream.end(input.subarray(0, input.length - 5));
    await finished;
    const { clusters } = clustersOf(Buffer.concat(out));
    expect(clusters.flatMap((c) => c.blocks)).toHaveLength(frames.length - 1);
    expect(stream.stats.truncatedAtEnd).toBe(true);
  });

  it('fails the stream on input that is not Matroska', async () => {
    const stream = new GopClusterStream();
    const failed = new Promise<Error>((resolve) => stream.once('error', resolve));
    stream.write(Buffer.from('GET / HTTP/1.1\r\n'));
    expect((await failed).message).toMatch(/EBML header/);
  });
});

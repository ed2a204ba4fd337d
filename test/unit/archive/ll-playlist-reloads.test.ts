/**
 * LL-HLS playlists across reloads, read by hls.js's own playlist parser: whatever happens between
 * two reloads (parts added to the open segment, the open segment completing, the next fragment
 * not arriving yet, a codec change, the window sliding), every media sequence number keeps its
 * fragment and its discontinuity sequence number (hls.js `cc`), and hls.js's reload check
 * (mapFragmentIntersection in level-helper.ts) lines up the same `cc` on both sides.
 */
import { M3U8Parser, PlaylistLevelType, type LevelDetails } from 'hls.js';
import { describe, expect, it } from 'vitest';
import { HlsService } from '../../../src/archive/hls-service.ts';
import type { LiveParts, PartedFragment } from '../../../src/archive/live-parts.ts';
import type { PlaybackSessions } from '../../../src/archive/playback-sessions.ts';
import type { SegmentBuilder } from '../../../src/archive/segment-builder.ts';
import { SessionTimelines } from '../../../src/archive/session-timeline.ts';
import { describeHeader, TrackCatalog } from '../../../src/archive/track-catalog.ts';
import type { PlannedPart } from '../../../src/hls/parts.ts';
import type { DiscontinuityMode, SessionClaims } from '../../../src/hls/types.ts';
import type { FragmentIndex, FragmentRecord } from '../../../src/store/types.ts';
import { AVCC_320x240, mkvHeader, VIDEO_TRACK } from '../../support/synthetic-mkv.ts';

const HEADERS = new Map<number, Buffer>([
  [1, mkvHeader()],
  [2, mkvHeader({ tracks: [{ ...VIDEO_TRACK, codecPrivate: AVCC_320x240 }] })],
]);

const fn = (i: number) => String(1000 + i).padStart(8, '0');

/** Fragment i: 1 s long, every other one arriving 150 ms late (an ffmpeg producer's jitter); a codec change at 9. */
function record(i: number): FragmentRecord {
  return {
    streamId: 1,
    fragmentNumber: fn(i),
    producerTimestampMs: 10_000 + i * 1000,
    serverTimestampMs: 50_000 + i * 1000 + (i % 2 ? 150 : 0),
    durationMs: 1000,
    sizeBytes: 1000,
    headerId: i >= 9 ? 2 : 1,
    location: { segment: 's', offset: 0, length: 0 },
    tags: {},
    flags: 0,
  };
}

const part = (index: number, durationMs: number): PlannedPart => ({
  index,
  startMs: index * 400,
  endMs: index * 400 + durationMs,
  firstLead: index,
  lastLead: index,
  durationMs,
  independent: index === 0,
});

class Stream {
  readonly rows: FragmentRecord[] = [];
  arriving: PartedFragment | undefined;
  /** Runs at the next parts.open() call: a fragment stored while a playlist is being built. */
  onOpen: (() => void) | undefined;

  arrive(i: number, parts: number): void {
    const r = record(i);
    this.arriving = {
      fragmentNumber: r.fragmentNumber,
      serverTimestampMs: r.serverTimestampMs,
      producerTimestampMs: r.producerTimestampMs,
      complete: false,
      fragment: { tracks: [], samples: [] } as unknown as PartedFragment['fragment'],
      parts: Array.from({ length: parts }, (_, k) => part(k, 400)),
      leadTrack: 1,
      header: describeHeader(-1, HEADERS.get(r.headerId)!),
    };
  }

  store(i: number): void {
    this.rows.push(record(i));
    if (this.arriving?.fragmentNumber === fn(i)) this.arriving = undefined;
  }

  readonly index = {
    getHeader: async (id: number) => HEADERS.get(id)!,
    get: async (_s: number, n: string) => this.rows.find((r) => r.fragmentNumber === n),
    after: async (_s: number, after: string | undefined, limit: number) => this.rows.filter((r) => after === undefined || r.fragmentNumber > after).slice(0, limit),
    latest: async () => this.rows.at(-1),
  };

  readonly parts = {
    partTargetMs: 500,
    open: () => {
      const hook = this.onOpen;
      this.onOpen = undefined;
      hook?.();
      return this.arriving;
    },
    ofStored: async (r: FragmentRecord) => ({ fragmentNumber: r.fragmentNumber, complete: true, parts: [part(0, 400), part(1, 400), part(2, 200)] }),
    changed: async () => {},
    partBytes: (p: PartedFragment, k: PlannedPart) => Buffer.from(`${p.fragmentNumber}/${k.index}`),
  };
}

function service(stream: Stream, discontinuity: DiscontinuityMode): HlsService {
  const index = stream.index as unknown as FragmentIndex;
  const clock = { now: () => 0 };
  const catalog = new TrackCatalog(index);
  const claims: SessionClaims = {
    protocol: 'HLS',
    streamId: 1,
    streamName: 's',
    mode: 'LIVE',
    container: 'FRAGMENTED_MP4',
    selector: { kind: 'SERVER_TIMESTAMP' },
    discontinuity,
    displayTimestamp: 'ALWAYS',
    displayFragmentNumber: 'NEVER',
    maxResults: 3,
    anchor: '00000999',
    lowLatency: true,
    issuedAtMs: 0,
    expiresAtMs: 1e12,
  };
  return new HlsService({
    sessions: { open: async () => ({ claims, key: 'k', token: 'tok' }) } as unknown as PlaybackSessions,
    timelines: new SessionTimelines({ index, catalog, clock }),
    builder: {} as SegmentBuilder,
    parts: stream.parts as unknown as LiveParts,
    catalog,
    index,
    clock,
  });
}

const parse = (text: string): LevelDetails => M3U8Parser.parseLevelPlaylist(text, 'http://kestrel/hls/v1/getHLSMediaPlaylist.m3u8', 0, PlaylistLevelType.MAIN, 0, null);

/**
 * Position (startSN + index) → cc, lined up as hls.js's reload check does: the previous playlist's
 * open segment (fragmentHint) only when it has parts, the new playlist's always.
 */
function lineUp(d: LevelDetails, previous: boolean): Map<number, number> {
  const frags = [...d.fragments];
  if (d.fragmentHint && (!previous || d.fragmentHint.duration > 0)) frags.push(d.fragmentHint);
  return new Map(frags.map((f, i) => [d.startSN + i, f.cc]));
}

const fragmentOf = (uri: string | undefined) => /FragmentNumber=(\d+)/.exec(uri ?? '')?.[1];

async function reloads(mode: DiscontinuityMode, script: (s: Stream, reload: () => Promise<void>) => Promise<void>) {
  const stream = new Stream();
  const hls = service(stream, mode);
  const playlists: string[] = [];
  const ccOf = new Map<number, number>();
  const fragmentAt = new Map<number, string>();
  let previous: LevelDetails | undefined;
  const reload = async () => {
    const text = (await hls.mediaPlaylist('tok', { lowLatency: true })).body as string;
    playlists.push(text);
    const d = parse(text);
    expect(d.playlistParsingError, text).toBeNull();
    if (d.partList?.length) expect(text.trimEnd().split('\n').at(-1), text).toMatch(/^#EXT-X-PRELOAD-HINT:TYPE=PART,URI=/);
    // Every MSN (complete, or open with parts) keeps its fragment and its cc in every playlist.
    const open = d.fragmentHint && d.fragmentHint !== d.fragments.at(-1) && d.fragmentHint.duration > 0 ? [d.fragmentHint] : [];
    for (const f of [...d.fragments, ...open]) {
      const sn = f.sn as number;
      const frag = fragmentOf(f.relurl) ?? fragmentOf(d.partList?.find((p) => p.fragment === f)?.relurl);
      expect(ccOf.get(sn) ?? f.cc, `cc of MSN ${sn}\n${text}`).toBe(f.cc);
      expect(fragmentAt.get(sn) ?? frag, `fragment of MSN ${sn}\n${text}`).toBe(frag);
      ccOf.set(sn, f.cc);
      if (frag) fragmentAt.set(sn, frag);
    }
    // hls.js's own reload check: the same cc at every position both playlists have.
    if (previous) {
      const before = lineUp(previous, true);
      for (const [pos, cc] of lineUp(d, false)) {
        if (before.has(pos)) expect(cc, `hls.js would see a discontinuity sequence mismatch at ${pos}\n${playlists.at(-2)}\n${text}`).toBe(before.get(pos));
      }
    }
    previous = d;
  };
  await script(stream, reload);
  return { playlists, ccOf, stream, hls };
}

/** Fragments 0..11; each arrives part by part, then is stored; every third one leaves a gap before its successor arrives. */
async function liveStream(s: Stream, reload: () => Promise<void>) {
  for (let i = 0; i < 12; i++) {
    for (let parts = 0; parts <= 2; parts++) {
      s.arrive(i, parts);
      await reload();
    }
    s.store(i);
    if (i % 3 === 0) await reload();
  }
  await reload();
}

describe('LL-HLS reloads keep every MSN on the same discontinuity sequence number', () => {
  for (const mode of ['ALWAYS', 'ON_DISCONTINUITY', 'NEVER'] as const) {
    it(`${mode}: parts, open → complete, gaps without an arriving fragment, a codec change, a sliding window`, async () => {
      const { playlists, ccOf } = await reloads(mode, liveStream);
      const last = playlists.at(-1)!;
      expect(last).toContain('#EXT-X-MEDIA-SEQUENCE:9');
      // Discontinuities scrolled out of the window (NEVER's one, at the codec change, is still in it).
      if (mode !== 'NEVER') expect(last).toMatch(/#EXT-X-DISCONTINUITY-SEQUENCE:\d+/);
      // Per mode: ALWAYS counts every fragment, ON_DISCONTINUITY the jitter and the codec change, NEVER the codec change.
      const expected = { ALWAYS: 12, ON_DISCONTINUITY: 11, NEVER: 1 }[mode];
      expect(ccOf.get(11)).toBe(expected);
    });
  }

  it('a fragment stored while the playlist is built is listed complete, and the arriving one gets the MSN after it', async () => {
    await reloads('ALWAYS', async (s, reload) => {
      s.arrive(0, 1);
      await reload();
      s.store(0);
      s.arrive(1, 2);
      await reload();
      // Fragment 1 is stored and 2 starts arriving while the next playlist is being built.
      s.onOpen = () => {
        s.store(1);
        s.arrive(2, 1);
      };
      await reload();
      s.store(2);
      await reload();
    });
  });

  it('the preload hint after a complete segment names the part after its last one', async () => {
    const { playlists } = await reloads('ALWAYS', async (s, reload) => {
      s.arrive(0, 1);
      s.store(0);
      await reload();
    });
    expect(playlists[0]).toContain(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="getMP4MediaPart.mp4?FragmentNumber=${fn(0)}&SessionToken=tok&TrackNumber=1&Part=3"`);
  });

  it('serves that hint as the first part of the next fragment, arriving or stored', async () => {
    const { stream, hls } = await reloads('ALWAYS', async (s, reload) => {
      s.store(0);
      await reload();
    });
    const part = async (n: string, k: number) => (await hls.mp4Part('tok', '1', n, String(k))).body.toString();
    stream.arrive(1, 1);
    expect(await part(fn(0), 3)).toBe(`${fn(1)}/0`);
    stream.store(1);
    expect(await part(fn(0), 3)).toBe(`${fn(1)}/0`);
    expect(await part(fn(0), 2)).toBe(`${fn(0)}/2`);
    await expect(part(fn(0), 4)).rejects.toThrow(/not available/);
  });
});

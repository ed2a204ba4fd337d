import { describe, expect, it } from 'vitest';
import { isDiscontinuity } from '../../../src/hls/discontinuity.ts';
import { buildMasterPlaylist } from '../../../src/hls/master-playlist.ts';
import { buildMediaPlaylist, targetDurationSec, type PlaylistUris } from '../../../src/hls/media-playlist.ts';
import type { PlaylistFragment } from '../../../src/hls/types.ts';
import { initSegmentUri, mediaPlaylistUri, mp4PartUri, mp4SegmentUri, tsSegmentUri } from '../../../src/hls/uris.ts';

const T = 'tok';
const fmp4Uris: PlaylistUris = { init: (s) => initSegmentUri(T, s), segment: (fn) => mp4SegmentUri(T, fn), part: (fn, k) => mp4PartUri(T, fn, k) };

function frag(msn: number, over: Partial<PlaylistFragment> = {}): PlaylistFragment {
  return { fragmentNumber: `9${msn}`, msn, timestampMs: 1_684_331_315_994 + msn * 2000, durationMs: 2000, initSequence: 0, discontinuity: false, ...over };
}

describe('URIs (kvs-api.md §5.2)', () => {
  it('are relative and shaped like KVS', () => {
    expect(mediaPlaylistUri(T)).toBe('getHLSMediaPlaylist.m3u8?SessionToken=tok&TrackNumber=1');
    expect(initSegmentUri(T, 0)).toBe('getMP4InitFragment.mp4?SessionToken=tok&TrackNumber=1&SequenceNumber=0');
    expect(mp4SegmentUri(T, '123')).toBe('getMP4MediaFragment.mp4?FragmentNumber=123&SessionToken=tok&TrackNumber=1');
    expect(tsSegmentUri(T, '123')).toBe('getTSFragment.ts?FragmentNumber=123&SessionToken=tok');
  });
});

describe('master playlist', () => {
  it('lists one muxed rendition with every codec', () => {
    const text = buildMasterPlaylist({ codecs: ['avc1.64001f', 'mp4a.40.2'], bandwidth: 812345.6, width: 320, height: 240, mediaPlaylistUri: mediaPlaylistUri(T) });
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=812346,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=320x240',
        'getHLSMediaPlaylist.m3u8?SessionToken=tok&TrackNumber=1',
        '',
      ].join('\n'),
    );
  });
});

describe('media playlist', () => {
  it('ON_DEMAND: VOD, ENDLIST, EXT-X-MAP, program date time, target = ceil(max duration)', () => {
    const text = buildMediaPlaylist({
      fmp4: true,
      vod: true,
      ended: true,
      fragments: [frag(0, { discontinuity: true, durationMs: 2663 }), frag(1)],
      discontinuitySequence: 0,
      programDateTime: true,
      uris: fmp4Uris,
    });
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-PLAYLIST-TYPE:VOD',
        '#EXT-X-TARGETDURATION:3',
        '#EXT-X-MEDIA-SEQUENCE:0',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-DISCONTINUITY',
        '#EXT-X-MAP:URI="getMP4InitFragment.mp4?SessionToken=tok&TrackNumber=1&SequenceNumber=0"',
        '#EXT-X-PROGRAM-DATE-TIME:2023-05-17T13:48:35.994Z',
        '#EXTINF:2.663,',
        'getMP4MediaFragment.mp4?FragmentNumber=90&SessionToken=tok&TrackNumber=1',
        '#EXT-X-PROGRAM-DATE-TIME:2023-05-17T13:48:37.994Z',
        '#EXTINF:2.000,',
        'getMP4MediaFragment.mp4?FragmentNumber=91&SessionToken=tok&TrackNumber=1',
        '#EXT-X-ENDLIST',
        '',
      ].join('\n'),
    );
  });

  it('LIVE window: media and discontinuity sequence, new init after a codec change, no ENDLIST', () => {
    const text = buildMediaPlaylist({
      fmp4: true,
      vod: false,
      ended: false,
      fragments: [frag(7), frag(8, { discontinuity: true, initSequence: 1 }), frag(9, { initSequence: 1 })],
      discontinuitySequence: 2,
      programDateTime: false,
      uris: fmp4Uris,
    });
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-DISCONTINUITY-SEQUENCE:2\n');
    expect(text).not.toContain('PLAYLIST-TYPE');
    expect(text).not.toContain('ENDLIST');
    expect(text.match(/EXT-X-MAP/g)).toHaveLength(2);
    expect(text).toContain('#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="getMP4InitFragment.mp4?SessionToken=tok&TrackNumber=1&SequenceNumber=1"\n#EXTINF:2.000,\ngetMP4MediaFragment.mp4?FragmentNumber=98');
  });

  it('MPEG-TS: version 3, no EXT-X-MAP', () => {
    const text = buildMediaPlaylist({ fmp4: false, vod: true, ended: true, fragments: [frag(0)], discontinuitySequence: 0, programDateTime: false, uris: { segment: (fn) => tsSegmentUri(T, fn) } });
    expect(text).toContain('#EXT-X-VERSION:3');
    expect(text).not.toContain('EXT-X-MAP');
    expect(text).toContain('getTSFragment.ts?FragmentNumber=90&SessionToken=tok');
  });

  it('plain live playlists advertise blocking reload; ended and VOD ones do not', () => {
    const spec = { fmp4: true, vod: false, ended: false, fragments: [frag(3)], discontinuitySequence: 0, programDateTime: false, uris: fmp4Uris, canBlockReload: true };
    expect(buildMediaPlaylist(spec).split('\n')).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES');
    expect(buildMediaPlaylist({ ...spec, ended: true })).not.toContain('SERVER-CONTROL');
    expect(buildMediaPlaylist({ ...spec, canBlockReload: false })).not.toContain('SERVER-CONTROL');
  });

  it('LL-HLS: server control, part info, parts, the arriving fragment and a preload hint', () => {
    const text = buildMediaPlaylist({
      fmp4: true,
      vod: false,
      ended: false,
      fragments: [frag(3)],
      discontinuitySequence: 0,
      programDateTime: false,
      uris: fmp4Uris,
      lowLatency: {
        partTargetMs: 500,
        parts: new Map([['93', [{ index: 0, durationMs: 480, independent: true }, { index: 1, durationMs: 520, independent: false }]]]),
        open: { ...frag(4), parts: [{ index: 0, durationMs: 500, independent: true }] },
        preloadHint: { fragmentNumber: '94', part: 1 },
      },
    });
    const lines = text.split('\n');
    expect(lines).toContain('#EXT-X-VERSION:9');
    expect(lines).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5');
    expect(lines).toContain('#EXT-X-PART-INF:PART-TARGET=0.5');
    expect(lines.slice(-5)).toEqual([
      '#EXTINF:2.000,',
      'getMP4MediaFragment.mp4?FragmentNumber=93&SessionToken=tok&TrackNumber=1',
      '#EXT-X-PART:DURATION=0.500,URI="getMP4MediaPart.mp4?FragmentNumber=94&SessionToken=tok&TrackNumber=1&Part=0",INDEPENDENT=YES',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="getMP4MediaPart.mp4?FragmentNumber=94&SessionToken=tok&TrackNumber=1&Part=1"',
      '',
    ]);
    expect(text).toContain('#EXT-X-PART:DURATION=0.480,URI="getMP4MediaPart.mp4?FragmentNumber=93&SessionToken=tok&TrackNumber=1&Part=0",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.520,URI="getMP4MediaPart.mp4?FragmentNumber=93&SessionToken=tok&TrackNumber=1&Part=1"\n#EXTINF:2.000,');
  });

  it('target duration is the ceiling of the longest fragment, at least 1', () => {
    expect(targetDurationSec([])).toBe(1);
    expect(targetDurationSec([{ durationMs: 2001 }, { durationMs: 1000 }])).toBe(2);
    expect(targetDurationSec([{ durationMs: 2500 }])).toBe(3);
    expect(targetDurationSec([{ durationMs: 4000 }])).toBe(4);
  });
});

describe('discontinuities', () => {
  const p = (timestampMs: number, initSequence = 0) => ({ timestampMs, durationMs: 1000, initSequence });
  it('ALWAYS marks every fragment, the first included', () => {
    expect(isDiscontinuity(undefined, p(0), 'ALWAYS')).toBe(true);
    expect(isDiscontinuity(p(0), p(1000), 'ALWAYS')).toBe(true);
  });
  it('ON_DISCONTINUITY marks gaps and overlaps over 50 ms', () => {
    expect(isDiscontinuity(undefined, p(0), 'ON_DISCONTINUITY')).toBe(false);
    expect(isDiscontinuity(p(0), p(1050), 'ON_DISCONTINUITY')).toBe(false);
    expect(isDiscontinuity(p(0), p(1051), 'ON_DISCONTINUITY')).toBe(true);
    expect(isDiscontinuity(p(0), p(949), 'ON_DISCONTINUITY')).toBe(true);
  });
  it('NEVER marks only init segment (codec private data) changes', () => {
    expect(isDiscontinuity(p(0), p(5000), 'NEVER')).toBe(false);
    expect(isDiscontinuity(p(0), p(1000, 1), 'NEVER')).toBe(true);
  });
});

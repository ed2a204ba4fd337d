import { describe, expect, it } from 'vitest';
import { buildDashManifest, isoDuration, type DashManifestSpec } from '../../../src/hls/dash-manifest.ts';
import { initSegmentUri, mp4SegmentUri } from '../../../src/hls/uris.ts';

const base: DashManifestSpec = {
  segments: [
    { fragmentNumber: '11', mediaTimeMs: 5000, durationMs: 1000, timestampMs: 1_700_000_000_000, initSequence: 0, periodId: '0' },
    { fragmentNumber: '12', mediaTimeMs: 6000, durationMs: 1040, timestampMs: 1_700_000_001_000, initSequence: 0, periodId: '0' },
    { fragmentNumber: '13', mediaTimeMs: 7040, durationMs: 960, timestampMs: 1_700_000_002_040, initSequence: 1, periodId: '1' },
  ],
  mediaOriginMs: 5000,
  tracks: [
    { number: 1, kind: 'video', codec: 'avc1.64001f', bandwidth: 500000, width: 320, height: 240 },
    { number: 2, kind: 'audio', codec: 'mp4a.40.2', bandwidth: 128000, sampleRate: 44100 },
  ],
  uris: { init: (s, t) => initSegmentUri('tok', s, t), segment: (fn, t) => mp4SegmentUri('tok', fn, t) },
  displayTimestamp: false,
  displayFragmentNumber: false,
};

describe('DASH manifest', () => {
  it('static (ON_DEMAND): duration, one Period per init segment, an AdaptationSet per track, exact timeline, escaped URLs', () => {
    const mpd = buildDashManifest(base);
    expect(mpd).toContain('type="static"');
    expect(mpd).toContain('mediaPresentationDuration="PT3S"');
    expect(mpd.match(/<Period /g)).toHaveLength(2);
    expect(mpd.match(/<AdaptationSet /g)).toHaveLength(4);
    expect(mpd).toContain('<AdaptationSet id="2" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1">');
    expect(mpd).toContain('<Representation id="2" codecs="mp4a.40.2" bandwidth="128000" audioSamplingRate="44100">');
    expect(mpd).toContain('<Representation id="1" codecs="avc1.64001f" bandwidth="500000" width="320" height="240">');
    expect(mpd).toContain('<SegmentURL media="getMP4MediaFragment.mp4?FragmentNumber=12&amp;SessionToken=tok&amp;TrackNumber=2"/>');
    expect(mpd).toContain('<Period id="0" start="PT0S">');
    expect(mpd).toContain('<Period id="1" start="PT2.04S">');
    expect(mpd).toContain('<SegmentList timescale="1000" presentationTimeOffset="7040">');
    expect(mpd).toContain('<S t="5000" d="1000"/>');
    expect(mpd).toContain('<Initialization sourceURL="getMP4InitFragment.mp4?SessionToken=tok&amp;TrackNumber=1&amp;SequenceNumber=1"/>');
    expect(mpd).toContain('<SegmentURL media="getMP4MediaFragment.mp4?FragmentNumber=12&amp;SessionToken=tok&amp;TrackNumber=1"/>');
    expect(mpd).not.toContain('kvs:ts=');
  });

  it('dynamic (LIVE): availability, update period, kvs:ts / kvs:fn when asked', () => {
    const mpd = buildDashManifest({
      ...base,
      displayTimestamp: true,
      displayFragmentNumber: true,
      live: { availabilityStartTimeMs: 1_700_000_000_000, publishTimeMs: 1_700_000_003_000, minimumUpdatePeriodMs: 2000, timeShiftBufferDepthMs: 3000, suggestedPresentationDelayMs: 3120 },
    });
    expect(mpd).toContain('type="dynamic"');
    expect(mpd).toContain('availabilityStartTime="2023-11-14T22:13:20.000Z"');
    expect(mpd).toContain('minimumUpdatePeriod="PT2S"');
    expect(mpd).not.toContain('mediaPresentationDuration');
    expect(mpd).toContain('<S t="6000" d="1040" kvs:ts="1700000001000" kvs:fn="12"/>');
  });

  it('formats xs:duration', () => {
    expect(isoDuration(0)).toBe('PT0S');
    expect(isoDuration(1500)).toBe('PT1.5S');
    expect(isoDuration(12345)).toBe('PT12.345S');
  });
});

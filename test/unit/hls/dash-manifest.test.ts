import { describe, expect, it } from 'vitest';
import { buildDashManifest, isoDuration, type DashManifestSpec } from '../../../src/hls/dash-manifest.ts';
import { extendPeriods } from '../../../src/hls/dash-periods.ts';
import { dashTimeSegmentTemplate, initSegmentUri, mp4SegmentUri } from '../../../src/hls/uris.ts';

const base: DashManifestSpec = {
  segments: [
    { fragmentNumber: '11', msn: 0, mediaTimeMs: 5000, durationMs: 1000, timestampMs: 1_700_000_000_000, initSequence: 0 },
    { fragmentNumber: '12', msn: 1, mediaTimeMs: 6000, durationMs: 1040, timestampMs: 1_700_000_001_000, initSequence: 0 },
    { fragmentNumber: '13', msn: 2, mediaTimeMs: 7040, durationMs: 960, timestampMs: 1_700_000_002_040, initSequence: 1 },
  ],
  periods: [
    { id: '0', firstMsn: 0, initSequence: 0, startMs: 0, ptoMs: 5000, firstDurationMs: 1000, mediaEndMs: 7040, offsetEndMs: 2040 },
    { id: '2', firstMsn: 2, initSequence: 1, startMs: 2040, ptoMs: 7040, firstDurationMs: 960, mediaEndMs: 8000, offsetEndMs: 3000 },
  ],
  tracks: [
    { number: 1, kind: 'video', codec: 'avc1.64001f', bandwidth: 500000, width: 320, height: 240 },
    { number: 2, kind: 'audio', codec: 'mp4a.40.2', bandwidth: 128000, sampleRate: 44100 },
  ],
  uris: {
    init: (s, t) => initSegmentUri('tok', s, t),
    segment: (fn, t) => mp4SegmentUri('tok', fn, t),
    template: (p, t) => dashTimeSegmentTemplate('tok', p, t),
  },
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
    expect(mpd).toContain('<Period id="2" start="PT2.04S">');
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
    expect(mpd).toContain('profiles="urn:mpeg:dash:profile:isoff-live:2011"');
    expect(mpd).toContain(
      '<SegmentTemplate timescale="1000" presentationTimeOffset="5000" initialization="getMP4InitFragment.mp4?SessionToken=tok&amp;TrackNumber=1&amp;SequenceNumber=0" media="getMP4MediaFragment.mp4?SessionToken=tok&amp;TrackNumber=1&amp;Period=0&amp;MediaTime=$Time$">',
    );
    expect(mpd).not.toContain('SegmentURL');
  });

  it('a LIVE_REPLAY session that ended: static, with the SegmentTemplate players loaded while it was live', () => {
    const mpd = buildDashManifest({ ...base, template: true });
    expect(mpd).toContain('type="static"');
    expect(mpd).toContain('mediaPresentationDuration="PT3S"');
    expect(mpd).not.toContain('availabilityStartTime');
    expect(mpd).toContain('media="getMP4MediaFragment.mp4?SessionToken=tok&amp;TrackNumber=1&amp;Period=2&amp;MediaTime=$Time$"');
    expect(mpd).not.toContain('SegmentURL');
    // Static: no leading Period-start segment (that is for live position arithmetic).
    expect(mpd.match(/<S [^>]*>/)![0]).toBe('<S t="5000" d="1000"/>');
  });

  it('live reloads: Period start, presentationTimeOffset and availabilityStartTime stay put; the timeline only grows at the end', () => {
    // 1 s fragments arriving in real time; the window (3 fragments) slides by one per reload.
    const frag = (msn: number) => ({
      fragmentNumber: String(100 + msn), msn, mediaTimeMs: 162_005 + msn * 1000, durationMs: 1000,
      timestampMs: 1_700_000_000_000 + msn * 1000, initSequence: 0,
      serverTimestampMs: 1_700_000_000_000 + msn * 1000, offsetMs: msn * 1000,
    });
    // Presentation time = session offset in the first Period: availabilityStartTime is the wall clock at the session's start.
    const ast = 1_700_000_000_000;
    const opts = { dynamic: { originMs: 162_005, realTimeAnchorMs: ast } };
    let plan = extendPeriods(undefined, [0, 1, 2].map(frag), opts);
    const mpds: string[] = [];
    for (let reload = 0; reload < 4; reload++) {
      const window = [reload, reload + 1, reload + 2].map(frag);
      plan = extendPeriods(plan, window, opts);
      mpds.push(buildDashManifest({
        ...base, segments: window, periods: plan.periods,
        live: { availabilityStartTimeMs: ast, publishTimeMs: ast + 3000 + reload * 1000, minimumUpdatePeriodMs: 1000, timeShiftBufferDepthMs: 4000, suggestedPresentationDelayMs: 3000 },
      }));
    }
    for (const mpd of mpds) {
      expect(mpd.match(/<Period [^>]*>/g)).toEqual(['<Period id="0" start="PT0S">']);
      expect(mpd).toContain('availabilityStartTime="2023-11-14T22:13:20.000Z"');
      expect(mpd.match(/presentationTimeOffset="(\d+)"/g)!.every((m) => m === 'presentationTimeOffset="162005"')).toBe(true);
    }
    // Once the Period's first segment left the window it stays listed first (GStreamer needs it), then the window.
    for (const mpd of mpds.slice(1)) expect(mpd.match(/<S [^>]*>/)![0]).toBe('<S t="162005" d="1000"/>');
    const times = (mpd: string) => [...new Set([...mpd.matchAll(/<S t="(\d+)"/g)].map((m) => Number(m[1])))].filter((t) => t !== 162_005);
    for (let i = 2; i < mpds.length; i++) {
      const before = times(mpds[i - 1]!);
      const after = times(mpds[i]!);
      // Old entries leave only from the front, new ones arrive only at the end.
      expect(after.slice(0, -1)).toEqual(before.slice(1));
      expect(after.at(-1)!).toBeGreaterThan(before.at(-1)!);
    }
  });

  it('formats xs:duration', () => {
    expect(isoDuration(0)).toBe('PT0S');
    expect(isoDuration(1500)).toBe('PT1.5S');
    expect(isoDuration(12345)).toBe('PT12.345S');
  });
});

/**
 * MPEG-DASH manifest (MPD) over the same fMP4 segment URLs as HLS. One AdaptationSet per track
 * (DASH players do not take video and audio muxed in one Representation), each segment URL
 * selecting its track with TrackNumber; a SegmentTimeline gives each fragment's exact media
 * time and duration (timescale 1000), so fragments of any length play.
 * Periods come from a `PeriodPlan` (dash-periods.ts): fixed `start` and `presentationTimeOffset`
 * for the life of the session.
 *
 * ON_DEMAND (static) lists each segment's URL (SegmentList). LIVE and LIVE_REPLAY (dynamic) use a
 * SegmentTemplate addressed by `$Time$`: a SegmentList whose first entries scroll out is
 * re-indexed wrongly by ffmpeg's dashdemux, while time addressing survives any window slide.
 */
import { periodEndMs, type DashPeriod } from './dash-periods.ts';

export interface DashSegment {
  fragmentNumber: string;
  msn: number;
  /** Start on the media (tfdt) timeline, ms. */
  mediaTimeMs: number;
  durationMs: number;
  /** Producer or server timestamp per the session selector (kvs:ts), epoch ms. */
  timestampMs: number;
  initSequence: number;
}

export interface DashLiveSpec {
  availabilityStartTimeMs: number;
  publishTimeMs: number;
  minimumUpdatePeriodMs: number;
  timeShiftBufferDepthMs: number;
  suggestedPresentationDelayMs: number;
}

export interface DashTrack {
  /** MKV track number (the TrackNumber of its segment URLs). */
  number: number;
  kind: 'video' | 'audio';
  /** RFC 6381 codec string. */
  codec: string;
  bandwidth: number;
  width?: number;
  height?: number;
  sampleRate?: number;
}

export interface DashManifestSpec {
  segments: readonly DashSegment[];
  /** Periods covering `segments` (oldest first); segments before the first Period are not listed. */
  periods: readonly DashPeriod[];
  tracks: readonly DashTrack[];
  uris: {
    init: (sequenceNumber: number, track: number) => string;
    segment: (fragmentNumber: string, track: number) => string;
    /** Dynamic MPDs: the SegmentTemplate media URL with `$Time$`. */
    template: (periodId: string, track: number) => string;
  };
  displayTimestamp: boolean;
  displayFragmentNumber: boolean;
  /** type="dynamic" (LIVE, LIVE_REPLAY); static when absent (ON_DEMAND, or a live session that ended). */
  live?: DashLiveSpec;
  /**
   * SegmentTemplate ($Time$) addressing instead of a SegmentList: always for dynamic MPDs, and
   * for a LIVE_REPLAY session that reached its end (its last MPD turns static but keeps the
   * addressing players loaded, so they finish the presentation instead of failing to match it).
   */
  template?: boolean;
}

/** The namespace of KVS's kvs:ts / kvs:fn attributes (Kestrel's URI; KVS documents only the prefix). */
export const KVS_DASH_NAMESPACE = 'https://kinesisvideo.amazonaws.com/dash';

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** xs:duration with millisecond precision, e.g. PT12.345S. */
export function isoDuration(ms: number): string {
  return `PT${(Math.max(0, ms) / 1000).toFixed(3).replace(/\.?0+$/, '')}S`;
}

export function buildDashManifest(spec: DashManifestSpec): string {
  const segs = spec.segments;
  const maxDur = segs.reduce((m, s) => Math.max(m, s.durationMs), 0);
  const mpd: string[] = [
    'xmlns="urn:mpeg:dash:schema:mpd:2011"',
    `xmlns:kvs="${KVS_DASH_NAMESPACE}"`,
    `profiles="${spec.live ? 'urn:mpeg:dash:profile:isoff-live:2011' : 'urn:mpeg:dash:profile:full:2011'}"`,
    `minBufferTime="${isoDuration(Math.max(1000, maxDur))}"`,
    `maxSegmentDuration="${isoDuration(maxDur)}"`,
  ];
  if (spec.live) {
    const l = spec.live;
    mpd.push(
      'type="dynamic"',
      `availabilityStartTime="${new Date(l.availabilityStartTimeMs).toISOString()}"`,
      `publishTime="${new Date(l.publishTimeMs).toISOString()}"`,
      `minimumUpdatePeriod="${isoDuration(l.minimumUpdatePeriodMs)}"`,
      `timeShiftBufferDepth="${isoDuration(l.timeShiftBufferDepthMs)}"`,
      `suggestedPresentationDelay="${isoDuration(l.suggestedPresentationDelayMs)}"`,
    );
  } else {
    const last = spec.periods.at(-1);
    mpd.push('type="static"', `mediaPresentationDuration="${isoDuration(last ? periodEndMs(last) : 0)}"`);
  }
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<MPD ${mpd.join(' ')}>`];
  spec.periods.forEach((period, i) => {
    const next = spec.periods[i + 1];
    const inPeriod = segs.filter((s) => s.msn >= period.firstMsn && (!next || s.msn < next.firstMsn));
    if (inPeriod.length) lines.push(...periodXml(spec, period, inPeriod));
  });
  lines.push('</MPD>', '');
  return lines.join('\n');
}

function periodXml(spec: DashManifestSpec, period: DashPeriod, segs: DashSegment[]): string[] {
  const lines = [`  <Period id="${xml(period.id)}" start="${isoDuration(period.startMs)}">`];
  for (const track of spec.tracks) lines.push(...adaptationSetXml(spec, period, segs, track));
  lines.push('  </Period>');
  return lines;
}

function adaptationSetXml(spec: DashManifestSpec, period: DashPeriod, segs: DashSegment[], track: DashTrack): string[] {
  const rep = [`id="${track.number}"`, `codecs="${xml(track.codec)}"`, `bandwidth="${Math.max(1, Math.round(track.bandwidth))}"`];
  if (track.width && track.height) rep.push(`width="${track.width}"`, `height="${track.height}"`);
  if (track.sampleRate) rep.push(`audioSamplingRate="${track.sampleRate}"`);
  const timeline: string[] = [];
  // GStreamer (1.22 up to at least 1.26) picks the segment after a seek or MPD reload with
  // (ts − S.start + first S.start) / d, right only when the first listed segment starts the Period;
  // so a live timeline keeps the Period's first segment, then (after a gap) the window. It is
  // outside timeShiftBufferDepth, so players do not fetch it (ffmpeg may try once: 404, it moves on).
  const leadMs = Math.round(segs[0]!.mediaTimeMs) - period.ptoMs;
  if (spec.live && leadMs > 0) timeline.push(`            <S t="${period.ptoMs}" d="${Math.min(leadMs, period.firstDurationMs)}"/>`);
  timeline.push(...segs.map((s) => {
    const attrs = [`t="${Math.round(s.mediaTimeMs)}"`, `d="${Math.max(1, Math.round(s.durationMs))}"`];
    if (spec.displayTimestamp) attrs.push(`kvs:ts="${Math.round(s.timestampMs)}"`);
    if (spec.displayFragmentNumber) attrs.push(`kvs:fn="${s.fragmentNumber}"`);
    return `            <S ${attrs.join(' ')}/>`;
  }));
  const init = xml(spec.uris.init(period.initSequence, track.number));
  const addressing = spec.live || spec.template
    ? [
        `        <SegmentTemplate timescale="1000" presentationTimeOffset="${period.ptoMs}" initialization="${init}" media="${xml(spec.uris.template(period.id, track.number))}">`,
        '          <SegmentTimeline>',
        ...timeline,
        '          </SegmentTimeline>',
        '        </SegmentTemplate>',
      ]
    : [
        `        <SegmentList timescale="1000" presentationTimeOffset="${period.ptoMs}">`,
        `          <Initialization sourceURL="${init}"/>`,
        '          <SegmentTimeline>',
        ...timeline,
        '          </SegmentTimeline>',
        ...segs.map((s) => `          <SegmentURL media="${xml(spec.uris.segment(s.fragmentNumber, track.number))}"/>`),
        '        </SegmentList>',
      ];
  return [
    `    <AdaptationSet id="${track.number}" contentType="${track.kind}" mimeType="${track.kind}/mp4" segmentAlignment="true" startWithSAP="1">`,
    `      <Representation ${rep.join(' ')}>`,
    ...addressing,
    '      </Representation>',
    '    </AdaptationSet>',
  ];
}

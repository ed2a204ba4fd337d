/**
 * MPEG-DASH manifest (MPD) over the same fMP4 segment URLs as HLS. One AdaptationSet per track
 * (DASH players do not take video and audio muxed in one Representation), each segment URL
 * selecting its track with TrackNumber; a SegmentList whose SegmentTimeline gives each
 * fragment's exact media time and duration (timescale 1000), so fragments of any length play.
 * A Period per run of one init segment: a codec private data change starts a new Period.
 *
 * Presentation time 0 is `mediaOriginMs` on the media (tfdt) timeline, on every Period, so the
 * mapping does not move when a Period's first fragments scroll out of a live window.
 */

export interface DashSegment {
  fragmentNumber: string;
  /** Start on the media (tfdt) timeline, ms. */
  mediaTimeMs: number;
  durationMs: number;
  /** Producer or server timestamp per the session selector (kvs:ts), epoch ms. */
  timestampMs: number;
  initSequence: number;
  /** Stable id of the run of fragments sharing one init segment. */
  periodId: string;
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
  mediaOriginMs: number;
  tracks: readonly DashTrack[];
  uris: { init: (sequenceNumber: number, track: number) => string; segment: (fragmentNumber: string, track: number) => string };
  displayTimestamp: boolean;
  displayFragmentNumber: boolean;
  /** type="dynamic" (LIVE, LIVE_REPLAY); static when absent (ON_DEMAND). */
  live?: DashLiveSpec;
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
  const last = segs.at(-1);
  const mpd: string[] = [
    'xmlns="urn:mpeg:dash:schema:mpd:2011"',
    `xmlns:kvs="${KVS_DASH_NAMESPACE}"`,
    'profiles="urn:mpeg:dash:profile:full:2011"',
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
    const end = last ? last.mediaTimeMs + last.durationMs - spec.mediaOriginMs : 0;
    mpd.push('type="static"', `mediaPresentationDuration="${isoDuration(end)}"`);
  }
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<MPD ${mpd.join(' ')}>`];
  for (const period of groupByPeriod(segs)) lines.push(...periodXml(spec, period));
  lines.push('</MPD>', '');
  return lines.join('\n');
}

function groupByPeriod(segs: readonly DashSegment[]): DashSegment[][] {
  const out: DashSegment[][] = [];
  for (const s of segs) {
    const cur = out.at(-1);
    if (cur && cur[0]!.periodId === s.periodId) cur.push(s);
    else out.push([s]);
  }
  return out;
}

function periodXml(spec: DashManifestSpec, segs: DashSegment[]): string[] {
  const first = segs[0]!;
  const lines = [`  <Period id="${xml(first.periodId)}" start="${isoDuration(first.mediaTimeMs - spec.mediaOriginMs)}">`];
  for (const track of spec.tracks) lines.push(...adaptationSetXml(spec, segs, track));
  lines.push('  </Period>');
  return lines;
}

function adaptationSetXml(spec: DashManifestSpec, segs: DashSegment[], track: DashTrack): string[] {
  const first = segs[0]!;
  const rep = [`id="${track.number}"`, `codecs="${xml(track.codec)}"`, `bandwidth="${Math.max(1, Math.round(track.bandwidth))}"`];
  if (track.width && track.height) rep.push(`width="${track.width}"`, `height="${track.height}"`);
  if (track.sampleRate) rep.push(`audioSamplingRate="${track.sampleRate}"`);
  const timeline = segs.map((s) => {
    const attrs = [`t="${Math.round(s.mediaTimeMs)}"`, `d="${Math.max(1, Math.round(s.durationMs))}"`];
    if (spec.displayTimestamp) attrs.push(`kvs:ts="${Math.round(s.timestampMs)}"`);
    if (spec.displayFragmentNumber) attrs.push(`kvs:fn="${s.fragmentNumber}"`);
    return `            <S ${attrs.join(' ')}/>`;
  });
  return [
    `    <AdaptationSet id="${track.number}" contentType="${track.kind}" mimeType="${track.kind}/mp4" segmentAlignment="true" startWithSAP="1">`,
    `      <Representation ${rep.join(' ')}>`,
    `        <SegmentList timescale="1000" presentationTimeOffset="${Math.round(first.mediaTimeMs)}">`,
    `          <Initialization sourceURL="${xml(spec.uris.init(first.initSequence, track.number))}"/>`,
    '          <SegmentTimeline>',
    ...timeline,
    '          </SegmentTimeline>',
    ...segs.map((s) => `          <SegmentURL media="${xml(spec.uris.segment(s.fragmentNumber, track.number))}"/>`),
    '        </SegmentList>',
    '      </Representation>',
    '    </AdaptationSet>',
  ];
}

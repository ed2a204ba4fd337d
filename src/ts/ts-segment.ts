/**
 * One demuxed fragment → one MPEG-TS segment (HLS): PAT, PMT, then one PES per access unit in
 * decode order. Video is Annex B with an AUD and, on keyframes, the parameter sets; AAC is ADTS.
 * PCR rides on the first video PES packet of every frame (the audio one without video).
 */
import type { Buffer } from 'node:buffer';
import { aacFrameToAdts, describeTrack, h264SampleToAnnexB, h265SampleToAnnexB, type TrackCodecInfo } from '../codec/index.ts';
import type { DemuxedFragment, MediaSample, MediaTrack } from '../media/types.ts';
import { TsPacketizer } from './packetizer.ts';
import { msTo90kHz, pesPacket, TIMESTAMP_MODULO } from './pes.ts';
import { PAT_PID, PMT_PID, STREAM_TYPE, patSection, pmtSection } from './psi.ts';

export interface TsSegmentOptions {
  /** Tracks to include, in PMT order; default every track of the fragment. */
  trackNumbers?: number[];
}

/** Elementary PIDs are 0x100 + MKV track number, so they stay stable across a session. */
const FIRST_ES_PID = 0x100;
const MAX_ES_PID = 0x1ffe;
/** PCR runs this far behind the frame's DTS, so a frame never arrives after its decode time. */
const PCR_DELAY_TICKS = 9000; // 100 ms

interface EsTrack {
  pid: number;
  streamId: number;
  info: TrackCodecInfo;
}

/**
 * Throws CodecError for an unsupported track (or an AAC format ADTS cannot carry). A sample that
 * cannot be framed ends its track's samples in this segment instead of failing the segment.
 */
export function buildTsSegment(fragment: DemuxedFragment, opts: TsSegmentOptions = {}): Buffer {
  const tracks = selectTracks(fragment, opts.trackNumbers);
  const es = esTracks(tracks);
  const pcrTrack = [...es.values()].find((t) => t.info.kind === 'video') ?? [...es.values()][0];
  if (pcrTrack === undefined) throw new RangeError('an MPEG-TS segment needs at least one track');
  // Continuity counters need no session state: each segment completes whole 16-packet cycles per PID.
  const out = new TsPacketizer();
  out.writeTables([
    { pid: PAT_PID, section: patSection() },
    { pid: PMT_PID, section: pmtSection(pcrTrack.pid, [...es.values()].map((t) => ({ pid: t.pid, streamType: streamTypeOf(t.info) }))) },
  ]);
  const cut = new Set<number>();
  for (const sample of fragment.samples) {
    const t = es.get(sample.track);
    if (t === undefined || cut.has(sample.track)) continue;
    const payload = elementaryPayloadOrUndefined(t.info, sample);
    if (payload === undefined) {
      // A sample that cannot be framed (bad NAL lengths, an AAC frame too big for ADTS): its track
      // ends here in this segment; later frames would reference it anyway.
      cut.add(sample.track);
      continue;
    }
    const dts = msTo90kHz(sample.dtsMs);
    const pes = pesPacket(t.streamId, payload, msTo90kHz(sample.ptsMs), dts);
    const isPcrTrack = t === pcrTrack;
    out.writePes(t.pid, pes, {
      ...(isPcrTrack ? { pcr: (dts - PCR_DELAY_TICKS + TIMESTAMP_MODULO) % TIMESTAMP_MODULO } : {}),
      randomAccess: sample.keyframe && (t.info.kind === 'video' || isPcrTrack),
    });
  }
  return out.result();
}

function selectTracks(fragment: DemuxedFragment, numbers: readonly number[] | undefined): MediaTrack[] {
  if (numbers === undefined) return fragment.tracks;
  return numbers.map((n) => {
    const track = fragment.tracks.find((t) => t.number === n);
    if (track === undefined) throw new RangeError(`track ${n} is not in the fragment (tracks: ${fragment.tracks.map((t) => t.number).join(', ')})`);
    return track;
  });
}

function esTracks(tracks: readonly MediaTrack[]): Map<number, EsTrack> {
  const es = new Map<number, EsTrack>();
  let videoIds = 0;
  let audioIds = 0;
  for (const track of tracks) {
    const pid = FIRST_ES_PID + track.number;
    if (!Number.isInteger(track.number) || track.number < 0 || pid > MAX_ES_PID) {
      throw new RangeError(`track number ${track.number} does not map to a TS PID`);
    }
    const info = describeTrack(track);
    // PES stream_id: 0xE0-0xEF video, 0xC0-0xDF audio.
    const streamId = info.kind === 'video' ? 0xe0 + videoIds++ : 0xc0 + audioIds++;
    if (videoIds > 16 || audioIds > 32) throw new RangeError('too many tracks of one kind for MPEG-TS stream ids');
    es.set(track.number, { pid, streamId, info });
  }
  return es;
}

function streamTypeOf(info: TrackCodecInfo): number {
  return info.codec === 'h264' ? STREAM_TYPE.H264 : info.codec === 'h265' ? STREAM_TYPE.H265 : STREAM_TYPE.AAC_ADTS;
}

function elementaryPayloadOrUndefined(info: TrackCodecInfo, sample: MediaSample): Buffer | undefined {
  try {
    return elementaryPayload(info, sample);
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

function elementaryPayload(info: TrackCodecInfo, sample: MediaSample): Buffer {
  switch (info.codec) {
    case 'h264':
      return h264SampleToAnnexB(sample.data, info.config, { keyframe: sample.keyframe });
    case 'h265':
      return h265SampleToAnnexB(sample.data, info.config, { keyframe: sample.keyframe });
    case 'aac':
      return aacFrameToAdts(sample.data, info.config);
  }
}

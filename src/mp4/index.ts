/**
 * Public API of the fMP4 writer (playback: HLS/DASH fMP4 segments, GetClip). The ingest-side
 * reader (fmp4-to-mkv.ts and friends) is used directly by src/ingest.
 */
export { buildInitSegment } from './fmp4-init.ts';
export { buildMediaSegment, withSequenceNumber, type MediaSegmentOptions } from './fmp4-segment.ts';
export { planFmp4Track, msToTimescale, VIDEO_TIMESCALE, type Fmp4Track } from './fmp4-tracks.ts';

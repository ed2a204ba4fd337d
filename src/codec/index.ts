/** Public API of src/codec: decoder-config parsing, codec strings, Annex B / ADTS framing. */
export { CodecError, type CodecErrorKvsName } from './errors.ts';
export { describeTrack, describeTracks, MKV_CODEC_ID, type TrackCodecInfo } from './codec-info.ts';
export { parseAvcC, parseH264Sps, avcCodecString, avcSampleEntryType, h264SampleToAnnexB, H264_NAL } from './h264.ts';
export type { AvcConfig, H264SpsInfo, AnnexBOptions } from './h264.ts';
export { parseHvcC, parseH265Sps, hevcCodecString, hevcSampleEntryType, h265SampleToAnnexB, H265_NAL } from './h265.ts';
export type { HevcConfig, H265SpsInfo } from './h265.ts';
export { parseAudioSpecificConfig, aacCodecString, adtsHeader, aacFrameToAdts, AAC_SAMPLE_RATES } from './aac.ts';
export type { AacConfig } from './aac.ts';
export { splitLengthPrefixed, joinAnnexB, joinLengthPrefixed, nalFramingProblem } from './nal-units.ts';
export { nalLengthSize, withoutBrokenSamples, type SampleFilterResult } from './sample-framing.ts';

/** Public API of the MPEG-TS muxer (HLS TS segments). */
export { buildTsSegment, type TsSegmentOptions } from './ts-segment.ts';
export { TS_PACKET_SIZE } from './packetizer.ts';
export { PAT_PID, PMT_PID, STREAM_TYPE, crc32Mpeg2 } from './psi.ts';
export { msTo90kHz } from './pes.ts';

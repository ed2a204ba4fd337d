import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { CodecError, describeTrack } from '../../../src/codec/index.ts';
import { toMediaTrack } from '../../../src/media/demux-mkv.ts';
import type { TrackEntry } from '../../../src/mkv/index.ts';
import { H264_PPS, H265_PPS, H265_VPS, avcC, h264Sps, h265Sps, hvcC } from './bitstream-builders.ts';

const track = (e: Partial<TrackEntry> & Pick<TrackEntry, 'codecId'>) => toMediaTrack({ number: 1, type: 1, ...e });

function kvsNameOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof CodecError ? e.kvsName : `not a CodecError: ${String(e)}`;
  }
  return undefined;
}

describe('describeTrack', () => {
  it('H.264: codec string from avcC, size from the SPS (not the MKV PixelWidth)', () => {
    const sps = h264Sps({ profile: 100, level: 40, widthMbs: 120, heightMapUnits: 68, crop: { left: 0, right: 0, top: 0, bottom: 4 } });
    const info = describeTrack(track({ codecId: 'V_MPEG4/ISO/AVC', codecPrivate: avcC({ sps: [sps], pps: [H264_PPS] }), video: { width: 1, height: 1 } }));
    expect(info).toMatchObject({ codec: 'h264', kind: 'video', sampleEntry: 'avc1', codecString: 'avc1.640028', width: 1920, height: 1080, track: 1 });
  });

  it('H.265: hvc1 codec string and SPS size', () => {
    const priv = hvcC({ arrays: [{ type: 32, nals: [H265_VPS] }, { type: 33, nals: [h265Sps({ width: 1280, height: 720 })] }, { type: 34, nals: [H265_PPS] }] });
    expect(describeTrack(track({ codecId: 'V_MPEGH/ISO/HEVC', codecPrivate: priv }))).toMatchObject({ codec: 'h265', sampleEntry: 'hvc1', codecString: 'hvc1.1.6.L93.B0', width: 1280, height: 720 });
  });

  it('AAC: rate and channels from the AudioSpecificConfig, the track fills in channel config 0', () => {
    expect(describeTrack(track({ type: 2, codecId: 'A_AAC', codecPrivate: Buffer.from('1190', 'hex'), audio: { samplingFrequency: 8000, channels: 6 } }))).toMatchObject({
      codec: 'aac', kind: 'audio', sampleEntry: 'mp4a', codecString: 'mp4a.40.2', sampleRate: 48000, channels: 2,
    });
    expect(describeTrack(track({ type: 2, codecId: 'A_AAC', codecPrivate: Buffer.from('1180', 'hex'), audio: { samplingFrequency: 48000, channels: 6 } }))).toMatchObject({ channels: 6 });
  });

  it('names the KVS exception for each failure', () => {
    expect(kvsNameOf(() => describeTrack(track({ codecId: 'V_VP8' })))).toBe('UnsupportedStreamMediaTypeException');
    expect(kvsNameOf(() => describeTrack(track({ type: 2, codecId: 'A_OPUS', codecPrivate: Buffer.from('4f707573', 'hex') })))).toBe('UnsupportedStreamMediaTypeException');
    expect(kvsNameOf(() => describeTrack(track({ codecId: 'V_MPEG4/ISO/AVC' })))).toBe('MissingCodecPrivateDataException');
    expect(kvsNameOf(() => describeTrack(track({ codecId: 'V_MPEG4/ISO/AVC', codecPrivate: Buffer.alloc(0) })))).toBe('MissingCodecPrivateDataException');
    expect(kvsNameOf(() => describeTrack(track({ codecId: 'V_MPEG4/ISO/AVC', codecPrivate: Buffer.from('0164001fff', 'hex') })))).toBe('InvalidCodecPrivateDataException');
    expect(kvsNameOf(() => describeTrack(track({ codecId: 'V_MPEGH/ISO/HEVC', codecPrivate: Buffer.from('01', 'hex') })))).toBe('InvalidCodecPrivateDataException');
    expect(kvsNameOf(() => describeTrack(track({ type: 2, codecId: 'A_AAC', codecPrivate: Buffer.from('1180', 'hex') })))).toBe('InvalidCodecPrivateDataException');
  });

  it('errors carry the track number in the field and the message', () => {
    try {
      describeTrack(toMediaTrack({ number: 7, type: 1, codecId: 'V_MPEG4/ISO/AVC', codecPrivate: Buffer.from([1, 2]) }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CodecError);
      expect((e as CodecError).track).toBe(7);
      expect((e as CodecError).message).toMatch(/^track 7: avcC/);
    }
  });
});

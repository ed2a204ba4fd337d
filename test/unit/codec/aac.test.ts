import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { aacCodecString, aacFrameToAdts, adtsHeader, parseAudioSpecificConfig } from '../../../src/codec/index.ts';
import { countFrames } from '../../../src/media-tools/ffmpeg.ts';
import { decodeMessages, demuxMkvFile, encodeMkv, probeStreams, writeTemp } from '../media/playback-fixtures.ts';
import { BitWriter } from './bitstream-builders.ts';

const asc = (hex: string) => parseAudioSpecificConfig(Buffer.from(hex, 'hex'));

describe('AudioSpecificConfig', () => {
  it('reads AAC LC configs', () => {
    expect(asc('1210')).toEqual({ objectType: 2, coreObjectType: 2, samplingFrequencyIndex: 4, sampleRate: 44100, channelConfiguration: 2, channels: 2 });
    expect(asc('1188')).toMatchObject({ objectType: 2, sampleRate: 48000, channels: 1 });
    expect(asc('13b8')).toMatchObject({ sampleRate: 22050, channelConfiguration: 7, channels: 8 }); // 7.1
    expect(aacCodecString(asc('1210'))).toBe('mp4a.40.2');
  });

  it('reads explicitly signalled HE-AAC: core rate and object type after the SBR extension', () => {
    // aot 5, 24 kHz, stereo, extension 48 kHz, core aot 2.
    const c = parseAudioSpecificConfig(new BitWriter().u(5, 5).u(4, 6).u(4, 2).u(4, 3).u(5, 2).u(10, 0).bytes());
    expect(c).toMatchObject({ objectType: 5, coreObjectType: 2, sampleRate: 24000, extensionSampleRate: 48000, channels: 2 });
    expect(aacCodecString(c)).toBe('mp4a.40.5');
    // ADTS signals the core (LC, 24 kHz): implicit SBR.
    expect(adtsHeader(c, 10)[2]! >> 2).toBe((1 << 4) | 6);
  });

  it('reads escaped object types and explicit frequencies', () => {
    const usac = parseAudioSpecificConfig(new BitWriter().u(5, 31).u(6, 10).u(4, 3).u(4, 2).u(5, 0).bytes());
    expect(usac).toMatchObject({ objectType: 42, sampleRate: 48000 });
    expect(aacCodecString(usac)).toBe('mp4a.40.42');
    const explicit = parseAudioSpecificConfig(new BitWriter().u(5, 2).u(4, 15).u(24, 44100).u(4, 1).u(3, 0).bytes());
    expect(explicit).toMatchObject({ samplingFrequencyIndex: 15, sampleRate: 44100, channels: 1 });
  });

  it('rejects short, null or reserved configs', () => {
    const invalid = expect.objectContaining({ kvsName: 'InvalidCodecPrivateDataException' });
    expect(() => asc('12')).toThrow(invalid);
    expect(() => asc('0010')).toThrow(invalid);
    expect(() => asc('1690')).toThrow(invalid); // samplingFrequencyIndex 13
    expect(() => asc('f800')).toThrow(invalid); // escaped type cut short
  });
});

describe('ADTS', () => {
  it('writes the 7-byte header: LC, 44.1 kHz, stereo, frame length incl. header', () => {
    expect(adtsHeader(asc('1210'), 100).toString('hex')).toBe('fff150800d7ffc');
    const max = adtsHeader(asc('1188'), 0x1fff - 7);
    expect(((max[3]! & 3) << 11) | (max[4]! << 3) | (max[5]! >> 5)).toBe(0x1fff);
    expect(() => adtsHeader(asc('1188'), 0x1fff)).toThrow(RangeError);
  });

  it('maps explicit rates to an index, and refuses what ADTS cannot signal', () => {
    const explicit = parseAudioSpecificConfig(new BitWriter().u(5, 2).u(4, 15).u(24, 44100).u(4, 2).u(3, 0).bytes());
    expect(adtsHeader(explicit, 1)[2]! & 0x3c).toBe(4 << 2);
    const odd = parseAudioSpecificConfig(new BitWriter().u(5, 2).u(4, 15).u(24, 12345).u(4, 2).u(3, 0).bytes());
    const unsupported = expect.objectContaining({ kvsName: 'UnsupportedStreamMediaTypeException' });
    expect(() => adtsHeader(odd, 1)).toThrow(unsupported);
    const usac = parseAudioSpecificConfig(new BitWriter().u(5, 31).u(6, 10).u(4, 3).u(4, 2).u(5, 0).bytes());
    expect(() => adtsHeader(usac, 1)).toThrow(unsupported);
  });

  it('an ADTS file made from ffmpeg AAC frames decodes completely', async () => {
    const file = await encodeMkv({ codec: 'h264', seconds: 2, audio: true });
    const fragments = demuxMkvFile(file);
    const track = fragments[0]!.tracks.find((t) => t.kind === 'audio')!;
    const config = parseAudioSpecificConfig(track.codecPrivate!);
    const frames = fragments.flatMap((f) => f.samples.filter((s) => s.track === track.number));
    const adts = writeTemp('aac.adts', Buffer.concat(frames.map((s) => aacFrameToAdts(s.data, config))));
    const [source] = (await probeStreams(file)).filter((s) => s.codec_type === 'audio');
    const [probed] = await probeStreams(adts);
    expect(probed).toMatchObject({ codec_name: 'aac', profile: 'LC', sample_rate: source?.sample_rate, channels: source?.channels });
    expect((await countFrames(adts, 'frames')).audio).toBe((await countFrames(file, 'frames')).audio);
    expect(await decodeMessages(adts)).toEqual([]);
  });
});

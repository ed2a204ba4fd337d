import { describe, expect, it } from 'vitest';
import { MkvStreamParser } from '../../../src/mkv/index.ts';
import { FragmentAssembler, type AssemblerOutput } from '../../../src/ingest/fragment-assembler.ts';
import { producerClock } from '../../../src/ingest/producer-time.ts';
import { mkvCluster, mkvHeader } from '../../support/synthetic-mkv.ts';

const limits = { maxFragmentBytes: 1_000_000, maxFragmentDurationMs: 20_000, maxTracks: 3, maxFragmentTags: 10 };

function producerTimes(clock: ReturnType<typeof producerClock>, timecodes: number[], nowMs: number): number[] {
  const asm = new FragmentAssembler(limits, clock.timecodeType, clock.producerStartMs, () => nowMs);
  const parser = new MkvStreamParser();
  const out: AssemblerOutput[] = [];
  asm.accept(parser.push(Buffer.concat([mkvHeader(), ...timecodes.map((timecode) => mkvCluster({ timecode }))])), out);
  asm.accept(parser.end(), out);
  out.push(...asm.finish());
  return out.flatMap((o) => (o.type === 'completed' ? [o.fragment.producerTimestampMs] : []));
}

describe('producer clock', () => {
  it('without KVS timing headers: RELATIVE to the receive time of the first fragment', () => {
    const clock = producerClock(undefined, undefined);
    expect(clock).toEqual({ timecodeType: 'ARRIVAL', producerStartMs: undefined });
    const now = 1_700_000_000_000;
    expect(producerTimes(clock, [0, 1000, 2000], now)).toEqual([now, now + 1000, now + 2000]);
    // A clock that does not start at 0 is anchored the same way.
    expect(producerTimes(clock, [5000, 6000], now)).toEqual([now, now + 1000]);
    // A reconnecting producer (its clock from 0 again) continues in time.
    expect(producerTimes(clock, [0, 1000], now + 10_000)).toEqual([now + 10_000, now + 11_000]);
  });

  it('with the headers: exactly as KVS (ABSOLUTE timecodes are the timestamps; RELATIVE adds the start)', () => {
    expect(producerTimes(producerClock('ABSOLUTE', undefined), [0, 1000], 1_700_000_000_000)).toEqual([0, 1000]);
    expect(producerTimes(producerClock('RELATIVE', '1700000000.5'), [0, 1000], 5)).toEqual([1_700_000_000_500, 1_700_000_001_500]);
    // Only the start timestamp: the timecode type defaults to ABSOLUTE, as before.
    expect(producerClock(undefined, '12.5')).toEqual({ timecodeType: 'ABSOLUTE', producerStartMs: 12_500 });
    expect(() => producerClock('SOMETIMES', undefined)).toThrow(/ABSOLUTE or RELATIVE/);
  });
});

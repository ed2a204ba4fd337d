import { describe, expect, it } from 'vitest';
import { extendPeriods, periodEndMs, periodOf, trimPeriods, type PeriodInput } from '../../../src/hls/dash-periods.ts';

const at = (msn: number, mediaTimeMs: number, o: Partial<PeriodInput> = {}): PeriodInput => ({
  msn, mediaTimeMs, durationMs: 1000, initSequence: 0, serverTimestampMs: 10_000 + msn * 1000, offsetMs: msn * 1000, ...o,
});

describe('DASH period plan', () => {
  it('one Period while the media timeline continues; extending again changes nothing already planned', () => {
    const first = extendPeriods(undefined, [at(0, 500), at(1, 1500), at(2, 2500)]);
    expect(first.periods).toEqual([{ id: '0', firstMsn: 0, initSequence: 0, startMs: 0, ptoMs: 500, firstDurationMs: 1000, mediaEndMs: 3500, offsetEndMs: 3000 }]);
    const again = extendPeriods(first, [at(1, 1500), at(2, 2500), at(3, 3500)]);
    expect(again.periods).toEqual([{ ...first.periods[0], mediaEndMs: 4500, offsetEndMs: 4000 }]);
    expect(again.nextMsn).toBe(4);
    // Replaying the same window is a no-op.
    expect(extendPeriods(again, [at(2, 2500), at(3, 3500)])).toEqual(again);
  });

  it('a codec change, a gap or a restarted clock starts a new Period at the previous end (or later in real time)', () => {
    const plan = extendPeriods(undefined, [
      at(0, 0), at(1, 1000),
      at(2, 2000, { initSequence: 1 }), // new init segment
      at(3, 9000, { initSequence: 1 }), // 6 s gap on the media timeline
      at(4, 0, { initSequence: 1 }), // producer reconnected with a clock from zero
    ]);
    expect(plan.periods.map((p) => [p.id, p.startMs, p.ptoMs])).toEqual([['0', 0, 0], ['2', 2000, 2000], ['3', 3000, 9000], ['4', 4000, 0]]);
    for (let i = 1; i < plan.periods.length; i++) expect(plan.periods[i]!.startMs).toBeGreaterThanOrEqual(periodEndMs(plan.periods[i - 1]!));

    // Dynamic: the first Period's presentationTimeOffset is the session's origin (presentation time = session offset);
    // LIVE: the Period after a pause starts at the arrival of its first fragment.
    const dynamic = { originMs: 5000, realTimeAnchorMs: 10_000 - 5000 };
    const live = extendPeriods(undefined, [at(0, 5000), at(1, 6000), at(2, 0, { serverTimestampMs: 72_000 })], { dynamic });
    expect(live.periods.map((p) => [p.startMs, p.ptoMs])).toEqual([[0, 5000], [67_000, 0]]);
    // LIVE_REPLAY: later Periods follow the session offset from the origin.
    const replay = extendPeriods(undefined, [at(0, 5000), at(1, 6000), at(2, 0)], { dynamic: { originMs: 5000 } });
    expect(replay.periods.map((p) => [p.startMs, p.ptoMs])).toEqual([[0, 5000], [2000, 0]]);
  });

  it('a LIVE window that slid past fragments no reload saw stays in one Period when the media continued', () => {
    const seen = extendPeriods(undefined, [at(0, 500), at(1, 1500)]);
    // Fragments 2–9 were listed and dropped between two reloads.
    const later = extendPeriods(seen, [at(10, 10_500), at(11, 11_500)]);
    expect(later.periods.map((p) => p.id)).toEqual(['0']);
    // A real break among the unseen fragments still starts a Period: media 20 s on while the session advanced 9 s.
    const broken = extendPeriods(seen, [at(10, 20_500)]);
    expect(broken.periods.map((p) => p.id)).toEqual(['0', '10']);
  });

  it('small jitter between fragments stays in one Period; trimming keeps the Period of the window start', () => {
    const plan = extendPeriods(undefined, [at(0, 0), at(1, 1040), at(2, 1990), at(3, 10_000), at(4, 11_000)]);
    expect(plan.periods.map((p) => p.id)).toEqual(['0', '3']);
    expect(trimPeriods(plan, 2).periods.map((p) => p.id)).toEqual(['0', '3']);
    expect(trimPeriods(plan, 3).periods.map((p) => p.id)).toEqual(['3']);
    expect(periodOf(plan, 2)!.id).toBe('0');
    expect(periodOf(plan, 4)!.id).toBe('3');
  });
});

/**
 * LL-HLS part boundaries. Deterministic from sample times alone, so a part cut from a fragment
 * still arriving is byte-for-byte the part cut later from the stored fragment:
 *
 * - The lead track (video, else the first) decides: a part starting at lead sample i takes the
 *   following lead samples while the part's end (the next lead sample's decode time) stays within
 *   the part target. A part is at least one sample.
 * - Other tracks' samples go to the part whose lead decode-time span contains their decode time
 *   (samples before the first lead sample go to part 0; the last part takes the rest).
 * - While the fragment is incomplete, a part is final only once the next lead sample is known to
 *   overflow it and every other track has a sample at or past its end.
 */

export interface PartSample {
  track: number;
  dtsMs: number;
  durationMs: number;
  keyframe: boolean;
}

export interface PlannedPart {
  index: number;
  /** Decode-time span on the lead track: [startMs, endMs); endMs is Infinity for a fragment's last part. */
  startMs: number;
  endMs: number;
  /** Lead-track sample range [firstLead, lastLead] (indices into the lead track's samples). */
  firstLead: number;
  lastLead: number;
  durationMs: number;
  /** Starts with a keyframe (EXT-X-PART INDEPENDENT=YES). */
  independent: boolean;
}

export interface PartPlanOptions {
  partTargetMs: number;
  leadTrack: number;
  /** Every track of the fragment (all must reach a boundary before the part before it is final). */
  tracks: readonly number[];
  /** The fragment is whole: its last samples form a final part. */
  complete: boolean;
}

export function planParts(samples: readonly PartSample[], opts: PartPlanOptions): PlannedPart[] {
  const lead = samples.filter((s) => s.track === opts.leadTrack);
  const n = lead.length;
  const endOf = (k: number): number | undefined =>
    k + 1 < n ? lead[k + 1]!.dtsMs : opts.complete ? lead[k]!.dtsMs + lead[k]!.durationMs : undefined;
  const lastDts = new Map<number, number>();
  for (const s of samples) lastDts.set(s.track, Math.max(lastDts.get(s.track) ?? -Infinity, s.dtsMs));

  const parts: PlannedPart[] = [];
  let i = 0;
  while (i < n) {
    const start = lead[i]!.dtsMs;
    let j = i;
    for (;;) {
      const end = j + 1 < n ? endOf(j + 1) : undefined;
      if (end === undefined || end - start > opts.partTargetMs) break;
      j++;
    }
    const overflowKnown = j + 1 < n && endOf(j + 1) !== undefined;
    if (overflowKnown) {
      const boundary = lead[j + 1]!.dtsMs;
      const othersArrived = opts.tracks.every((t) => t === opts.leadTrack || (lastDts.get(t) ?? -Infinity) >= boundary);
      if (!opts.complete && !othersArrived) break;
      parts.push({ index: parts.length, startMs: start, endMs: boundary, firstLead: i, lastLead: j, durationMs: boundary - start, independent: lead[i]!.keyframe });
      i = j + 1;
      continue;
    }
    if (j === n - 1 && opts.complete) {
      const end = endOf(j)!;
      parts.push({ index: parts.length, startMs: start, endMs: Infinity, firstLead: i, lastLead: j, durationMs: end - start, independent: lead[i]!.keyframe });
    }
    break;
  }
  return parts;
}

/** The samples of one planned part, in their original (decode) order. */
export function samplesOfPart<S extends PartSample>(samples: readonly S[], part: PlannedPart, leadTrack: number): S[] {
  const lower = part.index === 0 ? -Infinity : part.startMs;
  const out: S[] = [];
  let leadIndex = -1;
  for (const s of samples) {
    if (s.track === leadTrack) {
      leadIndex++;
      if (leadIndex >= part.firstLead && leadIndex <= part.lastLead) out.push(s);
    } else if (s.dtsMs >= lower && s.dtsMs < part.endMs) {
      out.push(s);
    }
  }
  return out;
}

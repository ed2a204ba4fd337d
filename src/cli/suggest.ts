/** "Did you mean" hints for mistyped flags and config keys. */

/** Levenshtein edit distance (insert, delete, substitute), two rows of memory. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The closest candidate, if close enough to be a plausible typo: at most a third of the word's
 * length in edits (at least 1, at most 3), so `--port` never suggests `--host`.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= limit ? best : undefined;
}

/** ` (did you mean --webhook-url?)`, or '' when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>, prefix = ''): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : ` (did you mean ${prefix}${c}?)`;
}

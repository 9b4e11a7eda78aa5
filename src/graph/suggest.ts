/**
 * Near-miss suggestions for names that do not exist ("did you mean `review`?"), for compile
 * problems and run-time errors that name an unknown node or key.
 */

/**
 * The edit distance between two strings: insertions, deletions, substitutions and swaps of
 * two neighbouring characters each cost 1 (optimal string alignment).
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let before: number[] = [];
  let previous: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, before[j - 2]! + 1);
      }
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The candidate `name` was most likely meant to be: the closest one by {@link editDistance}
 * (ignoring case), when it is within a third of the name's length (at least 1, and less than
 * the name's length, so unrelated short names are not suggested). Among equally close names
 * the one nearest in length wins, then the first.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = name.toLowerCase();
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  let bestGap = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance > limit || distance >= name.length) continue;
    const gap = Math.abs(candidate.length - name.length);
    if (distance < bestDistance || (distance === bestDistance && gap < bestGap)) {
      best = candidate;
      bestDistance = distance;
      bestGap = gap;
    }
  }
  return best;
}

/** `" Did you mean \`review\`?"`, or `""` when no candidate is close to `name`. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const match = closestName(name, candidates);
  return match === undefined ? "" : ` Did you mean \`${match}\`?`;
}

// Order statistics for latency samples.

/** The p-th percentile (0–100) by the nearest-rank method: the smallest sample with at least p% of samples at or below it. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('percentile of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

/** Rounds to `digits` decimals (figures are reported with sensible precision, not float noise). */
export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

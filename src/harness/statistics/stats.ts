/**
 * Descriptive statistics for per-repetition samples.
 *
 * The 95% confidence interval of the median is distribution-free: it uses order statistics and
 * the Binomial(n, 1/2) distribution of the number of samples below the true median (the method
 * benchstat uses). For n < 6 no pair of order statistics reaches 95% coverage, so the interval
 * falls back to [min, max] (coverage 1 - 2^(1-n), e.g. 93.75% at n = 5, 75% at n = 3).
 */
import type { Summary } from '../result/result.js';
import { KindedError } from '../../kinded-error.js';

export class StatsError extends KindedError<'empty' | 'not-finite' | 'bad-percentile'> {}

function checked(samples: readonly number[]): number[] {
  for (const x of samples) {
    if (!Number.isFinite(x)) throw new StatsError('not-finite', `sample ${x} is not a finite number`);
  }
  return [...samples].sort((a, b) => a - b);
}

/** Linear-interpolation percentile (type 7, like numpy's default) of a sorted array; p in [0, 100]. */
function sortedPercentile(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * (p / 100);
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (h - lo);
}

/** Percentile with linear interpolation between closest ranks; `p` in percent, 0..100. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new StatsError('empty', 'percentile of no samples');
  if (!(p >= 0 && p <= 100)) throw new StatsError('bad-percentile', `percentile ${p} is outside 0..100`);
  return sortedPercentile(checked(samples), p);
}

/** P(X <= k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, k: number): number {
  let term = Math.pow(0.5, n); // C(n,0) / 2^n
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term = (term * (n - i + 1)) / i;
    sum += term;
  }
  return sum;
}

/**
 * 1-based ranks [lower, upper] of the order statistics bounding the median with at least
 * `confidence` coverage, or undefined when n is too small (then [min, max] is used).
 */
export function medianCiRanks(n: number, confidence = 0.95): [number, number] | undefined {
  const alphaHalf = (1 - confidence) / 2;
  // Largest k with P(X <= k-1) <= alpha/2: the interval [x_(k), x_(n-k+1)] covers the median.
  let k = 0;
  while (k + 1 <= Math.floor((n + 1) / 2) && binomialHalfCdf(n, k) <= alphaHalf) k++;
  return k >= 1 ? [k, n - k + 1] : undefined;
}

/** Median of `values` (the mean of the middle two for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return sortedPercentile([...values].sort((a, b) => a - b), 50);
}

/** n, median, mean, sample standard deviation (n - 1), CV = stddev / mean, 95% CI of the median. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new StatsError('empty', 'cannot summarize zero samples');
  const sorted = checked(samples);
  const n = sorted.length;
  const mean = sorted.reduce((s, x) => s + x, 0) / n;
  const variance = n > 1 ? sorted.reduce((s, x) => s + (x - mean) * (x - mean), 0) / (n - 1) : 0;
  const stddev = Math.sqrt(variance);
  const ranks = medianCiRanks(n);
  const ci95: [number, number] = ranks ? [sorted[ranks[0] - 1]!, sorted[ranks[1] - 1]!] : [sorted[0]!, sorted[n - 1]!];
  return {
    n,
    median: sortedPercentile(sorted, 50),
    mean,
    stddev,
    cv: mean !== 0 ? stddev / Math.abs(mean) : 0,
    ci95,
  };
}

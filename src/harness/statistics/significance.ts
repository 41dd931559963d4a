/**
 * Significance of a change between two sets of repetitions: the Mann-Whitney U test
 * (what Go's benchstat and Google Benchmark's compare.py use), Holm's step-down
 * correction for testing many benchmarks at once, and the Hodges-Lehmann estimate of
 * the relative change with its distribution-free confidence interval.
 *
 * Pure functions over plain number arrays; no I/O. Samples are checked once here.
 *
 * References: Mann & Whitney (1947); Hollander, Wolfe & Chicken, "Nonparametric
 * Statistical Methods", 3rd ed., §4.1 (U test, tie correction), §4.2 (Hodges-Lehmann
 * shift estimator and its CI from the U distribution); Holm (1979).
 */
import { KindedError } from '../../kinded-error.js';
import { median } from './stats.js';

export type SignificanceErrorKind = 'empty-sample' | 'non-finite-sample';

export class SignificanceError extends KindedError<SignificanceErrorKind> {}

export interface MannWhitneyResult {
  /** U statistic of the first sample: count of pairs (x, y) with x > y, ties counted 1/2. */
  u: number;
  /** Two-sided p-value. */
  p: number;
  /** `exact` = exact null distribution (no ties, n1 + n2 <= EXACT_MAX_TOTAL); else normal approximation with tie and continuity correction. */
  method: 'exact' | 'normal';
}

/** Largest n1 + n2 for which the exact null distribution of U is computed (benchstat uses 50 per side). */
export const EXACT_MAX_TOTAL = 100;

function checkSample(name: string, xs: readonly number[]): void {
  if (xs.length === 0) throw new SignificanceError('empty-sample', `${name}: no samples`);
  for (const x of xs) {
    if (!Number.isFinite(x)) throw new SignificanceError('non-finite-sample', `${name}: sample ${x} is not a finite number`);
  }
}

/** Midranks of the pooled sample (ties share the mean of their ranks); returns ranks and the tie term Σ(t³ − t). */
function pooledRanks(a: readonly number[], b: readonly number[]): { ranksA: number[]; tieTerm: number } {
  const pooled = [...a.map((v) => ({ v, fromA: true })), ...b.map((v) => ({ v, fromA: false }))];
  pooled.sort((x, y) => x.v - y.v);
  const ranksA: number[] = [];
  let tieTerm = 0;
  for (let i = 0; i < pooled.length; ) {
    let j = i;
    while (j + 1 < pooled.length && pooled[j + 1]!.v === pooled[i]!.v) j++;
    const t = j - i + 1;
    const midrank = (i + j + 2) / 2; // ranks are 1-based
    if (t > 1) tieTerm += t * t * t - t;
    for (let k = i; k <= j; k++) if (pooled[k]!.fromA) ranksA.push(midrank);
    i = j + 1;
  }
  return { ranksA, tieTerm };
}

const exactCache = new Map<string, Float64Array>();

/**
 * Null distribution of U for sample sizes m, n without ties: P(U = u), u = 0 … m·n.
 * Recurrence p(m, n, u) = m/(m+n)·p(m−1, n, u−n) + n/(m+n)·p(m, n−1, u)
 * (the largest pooled value comes from the first sample with probability m/(m+n)).
 * Works on probabilities, not counts, so it stays accurate where C(m+n, m) > 2^53.
 */
export function exactUDistribution(m: number, n: number): Float64Array {
  const key = `${m},${n}`;
  const cached = exactCache.get(key);
  if (cached) return cached;
  // rows[i] = distribution for (i, j) for the current j
  let prev: Float64Array[] = []; // j - 1
  for (let j = 0; j <= n; j++) {
    const cur: Float64Array[] = [];
    for (let i = 0; i <= m; i++) {
      const d = new Float64Array(i * j + 1);
      if (i === 0 || j === 0) {
        d[0] = 1;
      } else {
        const fromA = i / (i + j);
        const left = cur[i - 1]!; // (i-1, j): U shifted by j
        for (let u = 0; u < left.length; u++) d[u + j]! += fromA * left[u]!;
        const down = prev[i]!; // (i, j-1)
        for (let u = 0; u < down.length; u++) d[u]! += (1 - fromA) * down[u]!;
      }
      cur.push(d);
    }
    prev = cur;
  }
  const dist = prev[m]!;
  exactCache.set(key, dist);
  return dist;
}

/** Standard normal upper tail, P(Z > z) (Abramowitz & Stegun 7.1.26 via erfc, |error| < 1.5e-7). */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  const upper = erfc / 2;
  return z >= 0 ? upper : 1 - upper;
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * Two-sided Mann-Whitney U test of H0 "both samples come from the same distribution".
 * Exact p when there are no ties and n1 + n2 <= EXACT_MAX_TOTAL, otherwise the normal
 * approximation with tie-corrected variance σ² = n1·n2/12 · ((N+1) − Σ(t³−t)/(N(N−1)))
 * and a 0.5 continuity correction (Hollander et al. §4.1).
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitneyResult {
  checkSample('first sample', a);
  checkSample('second sample', b);
  const m = a.length;
  const n = b.length;
  const { ranksA, tieTerm } = pooledRanks(a, b);
  const rankSumA = ranksA.reduce((s, r) => s + r, 0);
  const u = rankSumA - (m * (m + 1)) / 2;
  const mean = (m * n) / 2;
  if (tieTerm === 0 && m + n <= EXACT_MAX_TOTAL) {
    const dist = exactUDistribution(m, n);
    const k = Math.round(u);
    let lower = 0;
    for (let i = 0; i <= k; i++) lower += dist[i]!;
    let upper = 0;
    for (let i = k; i < dist.length; i++) upper += dist[i]!;
    return { u, p: Math.min(1, 2 * Math.min(lower, upper)), method: 'exact' };
  }
  const N = m + n;
  const variance = ((m * n) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (variance <= 0) return { u, p: 1, method: 'normal' }; // every value equal
  const z = Math.max(0, Math.abs(u - mean) - 0.5) / Math.sqrt(variance);
  return { u, p: Math.min(1, 2 * normalUpperTail(z)), method: 'normal' };
}

/** Smallest two-sided p-value the exact U test can ever give for sizes m, n: 2 / C(m+n, m). */
export function minimumPValue(m: number, n: number): number {
  if (m === 0 || n === 0) return 1;
  let logC = 0;
  for (let i = 1; i <= Math.min(m, n); i++) logC += Math.log(m + n - Math.min(m, n) + i) - Math.log(i);
  return Math.min(1, 2 * Math.exp(-logC));
}

/**
 * Holm's step-down adjustment (Holm 1979): controls the family-wise error rate like
 * Bonferroni but is uniformly more powerful. Returns adjusted p-values in input order;
 * reject H0_i when adjusted[i] < alpha.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const k = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p);
  const adjusted = new Array<number>(k).fill(1);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (k - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

/** Bonferroni adjustment: p × k, capped at 1. */
export function bonferroniAdjust(pValues: readonly number[]): number[] {
  return pValues.map((p) => Math.min(1, p * pValues.length));
}

export interface RelativeChange {
  /** Hodges-Lehmann estimate of head ÷ base − 1, in percent. */
  changePct: number;
  /** Distribution-free confidence interval of changePct at `confidence`. */
  ciPct: [number, number];
  confidence: number;
}

/**
 * Relative change of `head` against `base`: the Hodges-Lehmann estimator (median of all
 * m·n pairwise differences) on the log scale, so the estimate and its CI are ratios
 * (Hollander et al. §4.2). The CI is [D(c+1), D(mn−c)] of the sorted pairwise differences,
 * c the largest integer with P(U <= c) <= (1 − confidence)/2 under H0 (exact for
 * m + n <= EXACT_MAX_TOTAL, normal approximation beyond). Falls back to differences
 * divided by the base median when a sample is not strictly positive.
 */
export function relativeChange(base: readonly number[], head: readonly number[], confidence = 0.95): RelativeChange {
  checkSample('base sample', base);
  checkSample('head sample', head);
  const m = base.length;
  const n = head.length;
  const positive = base.every((x) => x > 0) && head.every((x) => x > 0);
  const baseMedian = median([...base].sort((x, y) => x - y));
  const diffs: number[] = [];
  for (const y of head) for (const x of base) diffs.push(positive ? Math.log(y) - Math.log(x) : y - x);
  diffs.sort((x, y) => x - y);
  const toPct = (d: number): number => (positive ? (Math.exp(d) - 1) * 100 : baseMedian === 0 ? 0 : (d / Math.abs(baseMedian)) * 100);
  const tail = (1 - confidence) / 2;
  let c: number;
  if (m + n <= EXACT_MAX_TOTAL) {
    const dist = exactUDistribution(m, n);
    let cumulative = 0;
    c = -1;
    for (let u = 0; u < dist.length; u++) {
      cumulative += dist[u]!;
      if (cumulative <= tail + 1e-12) c = u;
      else break;
    }
    c = Math.max(c, -1);
  } else {
    c = Math.floor((m * n) / 2 - normalQuantile(1 - tail) * Math.sqrt((m * n * (m + n + 1)) / 12)) - 1;
  }
  const total = m * n;
  // c + 1 pairwise differences cut from each end (1-based D(c+1) -> index c, clamp when too few samples)
  const loIndex = Math.min(Math.max(c, 0), total - 1);
  const hiIndex = Math.max(Math.min(total - 1 - c, total - 1), 0);
  const lo = c < 0 ? -Infinity : diffs[loIndex]!;
  const hi = c < 0 ? Infinity : diffs[hiIndex]!;
  return {
    changePct: toPct(median(diffs)),
    ciPct: [Number.isFinite(lo) ? toPct(lo) : -Infinity, Number.isFinite(hi) ? toPct(hi) : Infinity],
    confidence,
  };
}

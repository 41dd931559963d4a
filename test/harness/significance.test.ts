import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  exactUDistribution,
  holmAdjust,
  bonferroniAdjust,
  mannWhitneyU,
  minimumPValue,
  relativeChange,
  normalQuantile,
  normalUpperTail,
  SignificanceError,
} from '../../src/harness/statistics/significance.js';

const close = (actual: number, expected: number, tol: number, what = ''): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected} ± ${tol}, got ${actual}`);

test('exact U distribution sums to 1 and is symmetric', () => {
  for (const [m, n] of [[3, 4], [5, 5], [10, 10], [7, 12]] as const) {
    const d = exactUDistribution(m, n);
    assert.equal(d.length, m * n + 1);
    close(d.reduce((s, x) => s + x, 0), 1, 1e-12, `sum ${m},${n}`);
    for (let u = 0; u <= m * n; u++) close(d[u]!, d[m * n - u]!, 1e-15, `symmetry at ${u}`);
  }
  close(exactUDistribution(5, 5)[0]!, 1 / 252, 1e-15);
});

test('Mann-Whitney p-values match scipy.stats.mannwhitneyu', () => {
  // scipy 1.17: mannwhitneyu([6..10], [1..5], method='exact') -> U 25, p 0.0079365
  const r1 = mannWhitneyU([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]);
  assert.equal(r1.method, 'exact');
  assert.equal(r1.u, 25);
  close(r1.p, 0.007936507936507936, 1e-12);
  // overlapping, no ties: scipy exact p = 0.028805559765312086
  const a = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9];
  const b = [1.35, 1.45, 1.55, 1.65, 1.75, 1.85, 1.95, 2.05, 2.15, 2.25];
  const r2 = mannWhitneyU(b, a);
  assert.equal(r2.u, 79);
  close(r2.p, 0.028805559765312086, 1e-9);
  // ties -> normal approximation with tie and continuity correction: scipy asymptotic p = 0.006373133838085873
  const r3 = mannWhitneyU([3, 4, 4, 5, 5, 6, 6, 7, 8], [1, 2, 2, 3, 3, 3, 4, 5]);
  assert.equal(r3.method, 'normal');
  assert.equal(r3.u, 64.5);
  close(r3.p, 0.006373133838085873, 1e-6);
});

test('identical samples give p = 1; bad input is refused with a named kind', () => {
  assert.equal(mannWhitneyU([1, 1, 1], [1, 1, 1]).p, 1);
  assert.throws(() => mannWhitneyU([], [1]), (e: unknown) => e instanceof SignificanceError && e.kind === 'empty-sample');
  assert.throws(() => mannWhitneyU([1, Number.NaN], [1]), (e: unknown) => e instanceof SignificanceError && e.kind === 'non-finite-sample');
});

test('minimum p-value: n = 5 per side cannot go below 2/252, n = 10 reaches 1e-5', () => {
  close(minimumPValue(5, 5), 2 / 252, 1e-12);
  close(minimumPValue(10, 10), 2 / 184756, 1e-15);
  close(minimumPValue(7, 7), 2 / 3432, 1e-15);
});

test('Holm and Bonferroni adjustments', () => {
  const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((x, i) => close(adj[i]!, x, 1e-12, `holm[${i}]`));
  assert.deepEqual(bonferroniAdjust([0.01, 0.5]), [0.02, 1]);
  assert.deepEqual(holmAdjust([]), []);
});

test('normal tail and quantile agree', () => {
  close(normalUpperTail(1.959963984540054), 0.025, 1e-6);
  close(normalQuantile(0.975), 1.959963984540054, 1e-8);
  close(normalQuantile(0.001), -3.090232306167813, 1e-7);
});

test('Hodges-Lehmann relative change recovers a pure 10% scale and brackets it', () => {
  const base = [100, 101, 99, 102, 98, 100.5, 99.5, 101.5, 98.5, 100.2];
  const head = base.map((x) => x * 1.1);
  const c = relativeChange(base, head);
  close(c.changePct, 10, 1e-9);
  assert.ok(c.ciPct[0] < 10 && c.ciPct[1] > 10, `CI ${c.ciPct} brackets 10%`);
  assert.ok(c.ciPct[0] > 5 && c.ciPct[1] < 15, `CI ${c.ciPct} is reasonably tight`);
  // too few samples for a 95% interval: unbounded rather than a false claim
  const tiny = relativeChange([1, 2], [3, 4]);
  assert.equal(tiny.ciPct[0], -Infinity);
  assert.equal(tiny.ciPct[1], Infinity);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { medianCiRanks, percentile, StatsError, summarize } from '../../src/harness/statistics/stats.js';

test('summarize: known answers for 1..10', () => {
  const s = summarize([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]);
  assert.equal(s.n, 10);
  assert.equal(s.median, 5.5);
  assert.equal(s.mean, 5.5);
  // sample standard deviation (n - 1): sqrt(82.5 / 9)
  assert.ok(Math.abs(s.stddev - Math.sqrt(82.5 / 9)) < 1e-12);
  assert.ok(Math.abs(s.cv - s.stddev / 5.5) < 1e-12);
  // Binomial(10, 1/2): ranks 2 and 9 give >= 95% coverage (97.9%)
  assert.deepEqual(s.ci95, [2, 9]);
});

test('summarize: odd n median, single sample, constant samples', () => {
  assert.equal(summarize([3, 1, 2]).median, 2);
  const one = summarize([42]);
  assert.deepEqual([one.n, one.median, one.mean, one.stddev, one.cv], [1, 42, 42, 0, 0]);
  assert.deepEqual(one.ci95, [42, 42]);
  const flat = summarize([7, 7, 7, 7, 7]);
  assert.equal(flat.stddev, 0);
  assert.equal(flat.cv, 0);
});

test('summarize: n < 6 falls back to [min, max] for the median CI', () => {
  assert.deepEqual(summarize([5, 1, 3]).ci95, [1, 5]);
  assert.deepEqual(summarize([5, 1, 3, 9, 2]).ci95, [1, 9]);
  assert.equal(medianCiRanks(5), undefined);
  assert.deepEqual(medianCiRanks(6), [1, 6]);
});

test('medianCiRanks: matches the order-statistic tables', () => {
  // Standard table for a 95% distribution-free CI of the median (lower rank k, upper n-k+1).
  const expectedLower: Record<number, number> = { 6: 1, 8: 1, 9: 2, 10: 2, 12: 3, 15: 4, 20: 6, 30: 10 };
  for (const [n, k] of Object.entries(expectedLower)) {
    assert.deepEqual(medianCiRanks(Number(n)), [k, Number(n) - k + 1], `n=${n}`);
  }
});

test('percentile: linear interpolation, bounds, errors', () => {
  const xs = [4, 1, 3, 2];
  assert.equal(percentile(xs, 0), 1);
  assert.equal(percentile(xs, 100), 4);
  assert.equal(percentile(xs, 50), 2.5);
  assert.equal(percentile(xs, 25), 1.75);
  assert.throws(() => percentile([], 50), (e: unknown) => e instanceof StatsError && e.kind === 'empty');
  assert.throws(() => percentile(xs, 101), (e: unknown) => e instanceof StatsError && e.kind === 'bad-percentile');
  assert.throws(() => summarize([1, Number.NaN]), (e: unknown) => e instanceof StatsError && e.kind === 'not-finite');
  assert.throws(() => summarize([]), (e: unknown) => e instanceof StatsError && e.kind === 'empty');
});

/** Median of per-repetition samples, for anchors computed from what a suite measured. */
import { summarize } from '../src/harness/statistics/stats.js';

export function median(samples: readonly number[]): number {
  return summarize(samples).median;
}

/**
 * Exports a result file to the formats continuous-benchmarking services ingest:
 *
 *  - github-action-benchmark "custom" tools (harness-anchors §1.1): a JSON array of
 *    `{ name, unit, value, range?, extra? }`, one file per direction: `customBiggerIsBetter`
 *    for `better: higher`, `customSmallerIsBetter` for `better: lower`.
 *  - Bencher Metric Format (BMF): `{ "<benchmark>": { "<measure slug>": { value, lower_value, upper_value } } }`.
 *
 * Values are the medians of the repetitions; bounds are the 95% CI of the median from the
 * result file's summary. Latency benchmarks also export their HDR percentiles.
 */
import type { BenchmarkResult, ResultFile } from '../result/result.js';

export type ExportFormat = 'gab' | 'bmf';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['gab', 'bmf'];

export type GabTool = 'customBiggerIsBetter' | 'customSmallerIsBetter';

export interface GabEntry {
  name: string;
  unit: string;
  value: number;
  /** Human-readable spread, e.g. "± 1.2" (github-action-benchmark shows it verbatim). */
  range?: string;
  /** Free text shown in the tooltip. */
  extra?: string;
}

export interface BmfMetric {
  value: number;
  lower_value?: number;
  upper_value?: number;
}

export type BenchmarkMetricFormat = Record<string, Record<string, BmfMetric>>;

function gabEntry(b: BenchmarkResult, commit: string): GabEntry {
  const [lo, hi] = b.summary.ci95;
  const half = Math.max(b.summary.median - lo, hi - b.summary.median);
  return {
    name: b.id,
    unit: b.unit,
    value: b.summary.median,
    range: `± ${Number(half.toPrecision(3))}`,
    extra: `median of ${b.summary.n} repetitions; 95% CI [${Number(lo.toPrecision(4))}, ${Number(hi.toPrecision(4))}]; cv ${(b.summary.cv * 100).toFixed(2)}%; commit ${commit.slice(0, 10)}${b.quality.clean ? '' : '; NOT CLEAN: ' + b.quality.notes.join('; ')}`,
  };
}

/** Both github-action-benchmark arrays, split by `better`. */
export function toGithubActionBenchmark(result: ResultFile): Record<GabTool, GabEntry[]> {
  const commit = result.environment.git.commit;
  return {
    customBiggerIsBetter: result.benchmarks.filter((b) => b.better === 'higher').map((b) => gabEntry(b, commit)),
    customSmallerIsBetter: result.benchmarks.filter((b) => b.better === 'lower').map((b) => gabEntry(b, commit)),
  };
}

/** Bencher measure slug for a unit: its built-in `throughput` for ops/s, otherwise a slug of the unit. */
export function measureSlug(unit: string): string {
  if (unit === 'ops/s') return 'throughput';
  return unit
    .replace(/[µμ]/g, 'u')
    .toLowerCase()
    .replace(/\//g, '-per-')
    .replace(/%/g, 'percent')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '') || 'value';
}

/** Bencher Metric Format for every benchmark (and latency percentiles where present). */
export function toBencherMetricFormat(result: ResultFile): BenchmarkMetricFormat {
  const bmf: BenchmarkMetricFormat = {};
  for (const b of result.benchmarks) {
    const measures: Record<string, BmfMetric> = {
      [measureSlug(b.unit)]: { value: b.summary.median, lower_value: b.summary.ci95[0], upper_value: b.summary.ci95[1] },
    };
    if (b.latency) {
      for (const p of ['p50', 'p90', 'p99', 'p999'] as const) measures[`latency-${p}-ms`] = { value: b.latency[p] };
    }
    bmf[b.id] = measures;
  }
  return bmf;
}

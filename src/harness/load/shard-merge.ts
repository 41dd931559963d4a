/**
 * Merging the result files of the N shards of one run (`npm run merge`) into the result of the
 * whole run, and the figures thresholds read from it.
 *
 * Exact: the latency histograms are added bucket for bucket (hdr-histogram-js `add`, the same
 * settings on every shard), so the merged percentiles are those of one histogram fed every
 * request; counts, errors by code and offered rates are sums; the per-second time series are
 * merged interval by interval (the shards share T0, so interval k is the same second everywhere);
 * the maximum is the largest of the shards' (exact) maxima.
 * Not exact, and said so: dispatch lag is the worst shard's (a bound, not the whole run's p99),
 * the completed rate is the total over the longest shard's wall time, and server figures in the
 * series are dropped (each shard read the server on its own).
 *
 * Quality: the merged figure is clean only when every shard's was and the shards started at one
 * instant.
 */
import { createLatencyHistogram, decodeLatencyHistogram, encodeLatencyHistogram, latencyDistribution, latencyPercentilesMs, type LatencyHistogram } from './histogram.js';
import { mergeQuality, type GeneratorUsage } from './generator-guard.js';
import type { LoadResultFile } from './load-result-file.js';
import type { ShardRecord } from './shard.js';
import type { BenchmarkResult, LoadTimeSeries, ResultFile, TimeSeriesInterval } from '../result/result.js';
import { KindedError } from '../../kinded-error.js';

export type ShardMergeErrorKind = 'no-shards' | 'not-a-shard' | 'count-mismatch' | 'schedule-mismatch' | 'scenario-mismatch' | 'duplicate-shard' | 'missing-shard' | 'bad-histogram';

export class ShardMergeError extends KindedError<ShardMergeErrorKind> {}

/** One shard's file and where it came from (named in every message). */
export interface ShardPart {
  path: string;
  file: LoadResultFile;
}

/** Start instants further apart than this make the merged figure not clean. */
export const MAX_START_SPREAD_MS = 1;

const round2 = (x: number): number => Math.round(x * 100) / 100;

function decode(path: string, encoded: string): LatencyHistogram | undefined {
  try {
    return decodeLatencyHistogram(encoded);
  } catch (err) {
    throw new ShardMergeError('bad-histogram', `${path}: a latency histogram cannot be decoded (${(err as Error).message})`);
  }
}

/** Adds encoded histograms (empty ones are skipped) into a fresh one. */
function addHistograms(encoded: readonly { path: string; hdr: string }[]): LatencyHistogram {
  const merged = createLatencyHistogram();
  for (const e of encoded) {
    const h = decode(e.path, e.hdr);
    if (!h) continue;
    merged.add(h);
    h.destroy();
  }
  return merged;
}

/** Checks that the parts are all the shards of one run, each once; returns them in shard order. */
function checkParts(parts: readonly ShardPart[]): { part: ShardPart; shard: ShardRecord }[] {
  if (parts.length === 0) throw new ShardMergeError('no-shards', 'no shard files given');
  const withShard = parts.map((part) => {
    const shard = part.file.shard;
    if (!shard) throw new ShardMergeError('not-a-shard', `${part.path} records no shard; it was not run with --shard I/N`);
    return { part, shard };
  });
  const first = withShard[0]!;
  const count = first.shard.count;
  const schedule = JSON.stringify(first.part.file.schedule);
  const byIndex = new Map<number, string>();
  for (const { part, shard } of withShard) {
    if (shard.count !== count) throw new ShardMergeError('count-mismatch', `${part.path} is shard ${shard.index}/${shard.count}, but ${first.part.path} is one of ${count}: not the same run`);
    if (part.file.scenario !== first.part.file.scenario) {
      const what = (f: LoadResultFile): string => (f.scenario === undefined ? 'a --url run' : `scenario ${f.scenario}`);
      throw new ShardMergeError('scenario-mismatch', `${part.path} is a shard of ${what(part.file)}, ${first.part.path} of ${what(first.part.file)}: not the same run`);
    }
    if (JSON.stringify(part.file.schedule) !== schedule) {
      throw new ShardMergeError('schedule-mismatch', `${part.path} ran schedule ${JSON.stringify(part.file.schedule)}, ${first.part.path} ran ${schedule}: not the same run`);
    }
    const seen = byIndex.get(shard.index);
    if (seen !== undefined) throw new ShardMergeError('duplicate-shard', `${part.path} and ${seen} are both shard ${shard.index}/${count}`);
    byIndex.set(shard.index, part.path);
  }
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!byIndex.has(i)) missing.push(i);
  if (missing.length > 0) throw new ShardMergeError('missing-shard', `shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing (given: ${[...byIndex.keys()].sort((a, b) => a - b).map((i) => `${i}/${count}`).join(', ')})`);
  return withShard.sort((a, b) => a.shard.index - b.shard.index);
}

/** The generators together: wall time of the longest, CPU summed, saturated when any was. */
function combinedGenerator(usages: readonly GeneratorUsage[]): GeneratorUsage {
  const wall = Math.max(...usages.map((g) => g.wall_ms));
  const cpu = usages.reduce((s, g) => s + g.cpu_ms, 0);
  return {
    wall_ms: wall,
    cpu_ms: cpu,
    cpu_cores: Math.round(usages.reduce((s, g) => s + g.cpu_cores, 0) * 1000) / 1000,
    main_thread_elu: Math.max(...usages.map((g) => g.main_thread_elu)),
    saturated: usages.some((g) => g.saturated),
  };
}

/** Interval k of every series summed, histograms added (server figures dropped). */
function mergeSeries(parts: readonly ShardPart[]): LoadTimeSeries | undefined {
  const series = parts.map((p) => p.file.time_series);
  if (series.some((s) => s === undefined)) return undefined;
  const intervalMs = series[0]!.interval_ms;
  if (series.some((s) => s!.interval_ms !== intervalMs)) return undefined;
  const length = Math.max(...series.map((s) => s!.intervals.length));
  const intervals: TimeSeriesInterval[] = [];
  for (let k = 0; k < length; k++) {
    const at = parts.map((p) => ({ path: p.path, interval: p.file.time_series!.intervals[k] })).filter((x): x is { path: string; interval: TimeSeriesInterval } => x.interval !== undefined);
    const errors: Record<string, number> = {};
    for (const { interval } of at) for (const [key, n] of Object.entries(interval.errors)) errors[key] = (errors[key] ?? 0) + n;
    const merged = addHistograms(at.map((x) => ({ path: x.path, hdr: x.interval.hdr_base64 })));
    const { p50, p90, p99 } = latencyPercentilesMs(merged);
    const max = Math.max(0, ...at.map((x) => x.interval.latency_ms.max));
    intervals.push({
      start_s: (k * intervalMs) / 1000,
      duration_s: Math.max(...at.map((x) => x.interval.duration_s)),
      sent: at.reduce((s, x) => s + x.interval.sent, 0),
      completed: at.reduce((s, x) => s + x.interval.completed, 0),
      errors: Object.fromEntries(Object.entries(errors).sort(([a], [b]) => a.localeCompare(b))),
      latency_ms: { p50, p90, p99, max },
      hdr_base64: encodeLatencyHistogram(merged),
    });
    merged.destroy();
  }
  return { interval_ms: intervalMs, intervals };
}

function scheduleSeconds(file: LoadResultFile): number {
  return file.schedule.stages.reduce((total, stage) => total + stage.durationSeconds, 0);
}

/** Merges the shards of one run (throws ShardMergeError naming the file when they are not). */
export function mergeShardResults(parts: readonly ShardPart[]): LoadResultFile {
  const ordered = checkParts(parts);
  const files = ordered.map((x) => x.part.file);
  const histogram = addHistograms(ordered.map((x) => ({ path: x.part.path, hdr: x.part.file.latency.hdr_base64 })));
  // The stored histograms keep each value's bucket; the shards' own maxima are the exact values.
  const latency = { ...latencyDistribution(histogram), max: Math.max(0, ...files.map((f) => f.latency.max)) };
  histogram.destroy();
  const sum = (pick: (f: LoadResultFile) => number): number => files.reduce((s, f) => s + pick(f), 0);
  const errorsByCode: Record<string, number> = {};
  for (const f of files) for (const [key, n] of Object.entries(f.errors_by_code)) errorsByCode[key] = (errorsByCode[key] ?? 0) + n;
  const durationS = Math.max(...files.map((f) => f.duration_s));
  const completed = sum((f) => f.requests.completed);
  const starts = ordered.map((x) => x.shard.start_at_ms);
  const spread = Math.max(...starts) - Math.min(...starts);
  const quality = mergeQuality(...files.map((f) => f.quality));
  const notes = ordered.flatMap((x) => x.part.file.quality.notes.map((note) => `shard ${x.shard.index}/${x.shard.count}: ${note}`));
  if (spread > MAX_START_SPREAD_MS) notes.push(`shards started ${spread} ms apart (no common --start-at): their schedules do not add up to one run`);
  const series = mergeSeries(ordered.map((x) => x.part));
  const environments = files.flatMap((f) => (f.environment ? [f.environment] : []));
  // A scenario's checks: every shard's, each naming its shard (the run passes when all do).
  const scenario = files[0]!.scenario;
  const checks = scenario === undefined ? undefined : ordered.flatMap((x) => (x.part.file.checks ?? []).map((c) => ({ ...c, detail: `shard ${x.shard.index}/${x.shard.count}: ${c.detail}` })));
  return {
    latency_ms: { p50: latency.p50, p90: latency.p90, p99: latency.p99, p999: latency.p999, max: latency.max },
    requests: {
      sent: sum((f) => f.requests.sent),
      completed,
      errors: sum((f) => f.requests.errors),
      timeouts: sum((f) => f.requests.timeouts),
      non2xx: sum((f) => f.requests.non2xx),
    },
    // The schedule's requests over its length (a sum of the shards' rounded rates would drift by their rounding).
    offered_rate_per_s: round2(sum((f) => f.requests.sent) / scheduleSeconds(files[0]!)),
    completed_rate_per_s: durationS > 0 ? round2(completed / durationS) : 0,
    duration_s: durationS,
    connections: sum((f) => f.connections),
    dispatch_lag_ms: { p99: Math.max(...files.map((f) => f.dispatch_lag_ms.p99)), max: Math.max(...files.map((f) => f.dispatch_lag_ms.max)) },
    generator: combinedGenerator(files.map((f) => f.generator)),
    quality: { clean: quality.clean && spread <= MAX_START_SPREAD_MS, notes },
    schedule: files[0]!.schedule,
    errors_by_code: Object.fromEntries(Object.entries(errorsByCode).sort(([a], [b]) => a.localeCompare(b))),
    latency,
    ...(series ? { time_series: series } : {}),
    ...(scenario !== undefined ? { scenario, checks: checks! } : {}),
    shards: ordered.map((x) => x.shard),
    generators: files.map((f) => f.generator),
    environments,
    merged_from: ordered.map((x) => x.part.path),
  };
}

/** Ids of the figures thresholds read from a load result (`npm run merge -- --thresholds`). */
export const LOAD_FIGURE_IDS = {
  latency: 'load/open-loop/latency-p99',
  completedRate: 'load/open-loop/completed-rate',
  acceptedRate: 'load/open-loop/accepted-rate',
  errorRate: 'load/open-loop/error-rate',
} as const;

/**
 * A load result as the benchmarks a thresholds file names (result/thresholds.ts):
 * `load/open-loop/latency-p99` (ms; its one sample is the p99, and `stat` p50 … p999, latency_max
 * read its histogram), `load/open-loop/completed-rate` (answers/s, any status),
 * `load/open-loop/accepted-rate` (2xx answers/s) and `load/open-loop/error-rate` (failed or
 * non-2xx ÷ sent). Each carries the run's quality: a threshold on a not clean run fails.
 *
 * Why thresholds belong on the merged result: for an upper bound on a percentile or a fraction the
 * whole can be no worse than its worst shard (its CDF is the shards' weighted mean), but a bound on
 * a total — a rate limit of the whole, say accepted-rate ≤ 80 — holds on every shard and fails on the run.
 */
export function loadFigures(file: LoadResultFile): Pick<ResultFile, 'benchmarks' | 'anchors'> {
  const r = file.requests;
  const figure = (id: string, unit: string, better: BenchmarkResult['better'], value: number, extra: Partial<BenchmarkResult> = {}): BenchmarkResult => ({
    id,
    suite: 'load/open-loop',
    unit,
    better,
    params: { requests: r.sent, offered_rate_per_s: file.offered_rate_per_s, shards: file.shards?.length ?? 1 },
    samples: [value],
    // One run, one sample: its summary is the value itself.
    summary: { n: 1, median: value, mean: value, stddev: 0, cv: 0, ci95: [value, value] },
    quality: file.quality,
    ...extra,
  });
  return {
    benchmarks: [
      figure(LOAD_FIGURE_IDS.latency, 'ms', 'lower', file.latency.p99, { latency: file.latency }),
      figure(LOAD_FIGURE_IDS.completedRate, 'req/s', 'higher', file.completed_rate_per_s),
      figure(LOAD_FIGURE_IDS.acceptedRate, 'req/s', 'higher', file.duration_s > 0 ? round2((r.completed - r.non2xx) / file.duration_s) : 0),
      figure(LOAD_FIGURE_IDS.errorRate, 'fraction', 'lower', r.sent > 0 ? (r.errors + r.non2xx) / r.sent : 0),
    ],
    anchors: [],
  };
}

/**
 * Pools several runs of one commit into one result: the repetitions of each benchmark are
 * concatenated and summarised again. Used when base and head are benchmarked in interleaved
 * rounds (ABBA…), so that slow drift of a shared machine falls on both sides alike.
 */
import type { BenchmarkResult, ResultFile } from '../result/result.js';
import { summarize } from './stats.js';
import { KindedError } from '../../kinded-error.js';

export class MergeError extends KindedError<'no-runs'> {
  constructor(message: string) {
    super('no-runs', message);
  }
}

export function mergeRuns(runs: readonly ResultFile[]): ResultFile {
  if (runs.length === 0) throw new MergeError('nothing to merge: no runs');
  if (runs.length === 1) return runs[0]!;
  const first = runs[0]!;
  const last = runs[runs.length - 1]!;
  const byId = new Map<string, BenchmarkResult[]>();
  for (const run of runs) for (const b of run.benchmarks) byId.set(b.id, [...(byId.get(b.id) ?? []), b]);
  const benchmarks: BenchmarkResult[] = [...byId.values()].map((parts) => {
    const samples = parts.flatMap((p) => p.samples);
    const latest = parts[parts.length - 1]!;
    return {
      ...latest,
      samples,
      summary: samples.length > 0 ? summarize(samples) : latest.summary,
      quality: {
        clean: parts.every((p) => p.quality.clean),
        notes: [...new Set(parts.flatMap((p) => p.quality.notes)), `pooled from ${parts.length} runs`],
      },
    };
  });
  return {
    ...first,
    run: { ...first.run, id: `${first.run.id}+${runs.length - 1}`, finished_at: last.run.finished_at },
    benchmarks,
    anchors: last.anchors,
    checks: runs.flatMap((r) => r.checks),
  };
}

/**
 * Repeated tinybench runs: one independent `Bench.run()` per repetition gives one sample
 * (operations per second, from the repetition's median call time) per task. Tasks are interleaved within each repetition, so slow drift
 * of the machine spreads over all tasks instead of biasing the last ones.
 *
 * Operations far below the timer's resolution are batched: a task's function performs
 * `opsPerCall` operations and the figure is reported per operation.
 */
import { Bench } from 'tinybench';
import type { BenchmarkRecord, SuiteContext } from '../src/harness/suite/suite.js';

export interface MicroTask {
  /** Benchmark id (stable across commits). */
  id: string;
  /** Operations one call of `fn` performs (batching for sub-microsecond work); default 1. */
  opsPerCall?: number;
  /** Synchronous or asynchronous; the whole call is timed. */
  fn: () => unknown;
  /** Untimed preparation before each call (e.g. making ciphertexts to decrypt). */
  beforeEach?: () => unknown;
  params: BenchmarkRecord['params'];
}

export interface MeasureOptions {
  /** tinybench `time` per task and repetition, ms. */
  sampleTimeMs: number;
  /** Warm-up before the first repetition, ms (later repetitions warm up briefly too). */
  warmupTimeMs: number;
  repetitions: number;
  /** Reported to ctx.progress as [from, to] of this suite's progress. */
  progressSpan: [number, number];
  label: string;
}

export interface MeasuredTask {
  id: string;
  /** Operations per second, one per repetition. */
  samples: number[];
  error?: string;
}

/** Runs `tasks` for `repetitions` independent tinybench runs; returns ops/s samples per task. */
export async function measureTasks(ctx: SuiteContext, tasks: MicroTask[], options: MeasureOptions): Promise<MeasuredTask[]> {
  const out = new Map<string, MeasuredTask>(tasks.map((t) => [t.id, { id: t.id, samples: [] }]));
  const [from, to] = options.progressSpan;
  // Repetition −1 is a full warm-up pass whose figures are discarded: with tinybench's per-task
  // warm-up alone the first repetitions of interleaved tasks run slower than the rest (V8 has not
  // yet optimised every task), a step that inflates the CV (docs/measurements.md).
  for (let rep = -1; rep < options.repetitions; rep++) {
    if (ctx.signal.aborted) break;
    const warmupPass = rep < 0;
    if (!warmupPass) ctx.progress(from + ((to - from) * rep) / options.repetitions, `${options.label} repetition ${rep + 1}/${options.repetitions}`);
    const bench = new Bench({
      time: options.sampleTimeMs,
      iterations: 2,
      warmup: true,
      warmupTime: rep <= 0 ? options.warmupTimeMs : Math.max(1, options.warmupTimeMs / 4),
      warmupIterations: 2,
      timestampProvider: 'hrtimeNow',
      throws: false,
      signal: ctx.signal,
    });
    for (const task of tasks) {
      if (out.get(task.id)!.error) continue;
      const slowdown = ctx.slowdown(task.id);
      const fn = slowdown.fraction > 0 ? wrapAny(task.fn, slowdown) : task.fn;
      bench.add(task.id, fn as () => unknown, task.beforeEach ? { beforeEach: () => void task.beforeEach!() } : {});
    }
    await bench.run();
    if (warmupPass) continue;
    for (const task of tasks) {
      const measured = out.get(task.id)!;
      if (measured.error) continue;
      const result = bench.getTask(task.id)?.result;
      if (!result) continue;
      if (result.state === 'errored') {
        measured.error = result.error instanceof Error ? result.error.message : String(result.error);
        continue;
      }
      if (result.state !== 'completed' && result.state !== 'aborted-with-statistics') continue;
      // The repetition's figure comes from the median call, not the mean: on a shared machine a
      // descheduling pause lands in a few calls and drags the mean (the CV falls to about half;
      // docs/measurements.md), while the typical call is what a regression moves.
      const medianMs = result.latency.p50;
      if (medianMs !== undefined && medianMs > 0) measured.samples.push(((task.opsPerCall ?? 1) * 1000) / medianMs);
    }
  }
  return [...out.values()];
}

function wrapAny(fn: () => unknown, slowdown: ReturnType<SuiteContext['slowdown']>): () => unknown {
  // Decide sync/async once, from one untimed probe call would change state; instead wrap by result.
  return () => {
    const start = process.hrtime.bigint();
    const value = fn();
    if (value instanceof Promise) {
      return value.then((v) => {
        slowdown.extend(start);
        return v;
      });
    }
    slowdown.extend(start);
    return value;
  };
}

/** Records every measured task (params from its definition) and logs the ones that errored. */
export function recordMeasured(ctx: SuiteContext, suite: string, tasks: MicroTask[], measured: MeasuredTask[]): void {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  for (const m of measured) {
    const task = byId.get(m.id)!;
    if (m.error) {
      ctx.check({ id: `${m.id}/runs`, passed: false, detail: `threw while measured: ${m.error}` });
      ctx.log(`${m.id} threw: ${m.error}`);
      continue;
    }
    if (m.samples.length === 0) continue;
    ctx.record({
      id: m.id,
      suite,
      unit: 'ops/s',
      better: 'higher',
      params: { ...task.params, ops_per_call: task.opsPerCall ?? 1 },
      samples: m.samples,
    });
  }
}

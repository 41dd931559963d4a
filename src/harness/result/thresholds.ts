/**
 * Thresholds: absolute goals that fail a run (k6 thresholds, Artillery `ensure`, Gatling
 * assertions), read from a JSON file (`results/thresholds.schema.json`, validated with ajv like
 * result files) and evaluated on a final result file.
 *
 *   {"thresholds": [
 *     {"id": "load/mass-messaging/capacity-at-p99-50ms", "op": ">=", "value": 100},
 *     {"id": "load/baseline/bare-http/open-latency-p99", "stat": "p99", "op": "<", "value": 20},
 *     {"id": "server-cpu-per-send-vs-bare", "op": "<=", "value": 12}
 *   ]}
 *
 * An entry names a benchmark or an anchor by its exact id and reads one statistic: for a
 * benchmark the median of its samples by default (`mean`, `min`, `max` of the samples, or
 * `p50` … `p999`, `latency_max` of its latency histogram, ms); for an anchor its `ratio` by
 * default (`ours`, `theirs`). The value is in the figure's own unit. A threshold holds only when
 * the figure exists, is clean and satisfies the comparison: unknown is not a pass.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import type { Anchor, BenchmarkResult, ResultFile } from './result.js';
import { compileSchemaFile, describeError } from './schema.js';
import { KindedError } from '../../kinded-error.js';

export type ThresholdOp = '<' | '<=' | '>' | '>=';
export type BenchmarkStat = 'median' | 'mean' | 'min' | 'max' | 'p50' | 'p90' | 'p99' | 'p999' | 'latency_max';
export type AnchorStat = 'ratio' | 'ours' | 'theirs';

export interface Threshold {
  id: string;
  kind?: 'benchmark' | 'anchor';
  stat?: BenchmarkStat | AnchorStat;
  op: ThresholdOp;
  value: number;
  why?: string;
}

export interface ThresholdsFile {
  description?: string;
  thresholds: Threshold[];
}

export type ThresholdVerdict = 'pass' | 'fail' | 'missing' | 'unclean';

export interface ThresholdOutcome {
  threshold: Threshold;
  /** The statistic read, when the figure exists. */
  figure?: number;
  unit?: string;
  verdict: ThresholdVerdict;
  /** Why, for anything but a pass. */
  detail: string;
}

export type ThresholdsErrorKind = 'unreadable' | 'invalid-json' | 'schema';

export class ThresholdsError extends KindedError<ThresholdsErrorKind> {}

/** Exit status of a run whose thresholds did not all hold (bench, nightly). */
export const THRESHOLDS_FAILED_EXIT = 3;

export const THRESHOLDS_SCHEMA_PATH = fileURLToPath(new URL('../../../../results/thresholds.schema.json', import.meta.url));

let compiled: ValidateFunction | undefined;

/** Reads and validates a thresholds file; throws ThresholdsError with a message naming the problem. */
export function readThresholdsFile(path: string): ThresholdsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ThresholdsError('unreadable', `thresholds file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ThresholdsError('invalid-json', `thresholds file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  compiled ??= compileSchemaFile(THRESHOLDS_SCHEMA_PATH);
  if (!compiled(value)) {
    const lines = [...new Set((compiled.errors ?? []).map(describeError))].slice(0, 8);
    throw new ThresholdsError('schema', `thresholds file ${path} does not match results/thresholds.schema.json:\n  ${lines.join('\n  ')}`);
  }
  const file = value as ThresholdsFile;
  for (const [i, t] of file.thresholds.entries()) {
    const anchorStat = t.stat === 'ratio' || t.stat === 'ours' || t.stat === 'theirs';
    if (t.stat !== undefined && t.kind !== undefined && anchorStat !== (t.kind === 'anchor')) {
      throw new ThresholdsError('schema', `thresholds file ${path}: /thresholds/${i}: stat ${t.stat} does not apply to a ${t.kind}`);
    }
  }
  return file;
}

function compare(x: number, op: ThresholdOp, value: number): boolean {
  switch (op) {
    case '<':
      return x < value;
    case '<=':
      return x <= value;
    case '>':
      return x > value;
    case '>=':
      return x >= value;
  }
}

function benchmarkStat(b: BenchmarkResult, stat: BenchmarkStat): { figure?: number; unit: string } {
  switch (stat) {
    case 'median':
    case 'mean':
      return { figure: b.summary[stat], unit: b.unit };
    case 'min':
      return { figure: b.samples.length ? Math.min(...b.samples) : undefined, unit: b.unit };
    case 'max':
      return { figure: b.samples.length ? Math.max(...b.samples) : undefined, unit: b.unit };
    case 'latency_max':
      return { figure: b.latency?.max, unit: 'ms' };
    default:
      return { figure: b.latency?.[stat], unit: 'ms' };
  }
}

/** The part of a result thresholds read: its benchmarks and anchors (a result file, or a merged load run's figures). */
export type ThresholdSubject = Pick<ResultFile, 'benchmarks' | 'anchors'>;

/** Evaluates one threshold on a result. */
export function evaluateThreshold(result: ThresholdSubject, t: Threshold): ThresholdOutcome {
  const anchorStat = t.stat === 'ratio' || t.stat === 'ours' || t.stat === 'theirs';
  const benchmark = t.kind === 'anchor' || anchorStat ? undefined : result.benchmarks.find((b) => b.id === t.id);
  const anchor: Anchor | undefined = benchmark || t.kind === 'benchmark' || (t.stat !== undefined && !anchorStat) ? undefined : result.anchors.find((a) => a.id === t.id);
  let figure: number | undefined;
  let unit: string;
  let clean: boolean;
  let notes: string[];
  if (benchmark) {
    ({ figure, unit } = benchmarkStat(benchmark, (t.stat ?? 'median') as BenchmarkStat));
    clean = benchmark.quality.clean;
    notes = benchmark.quality.notes;
  } else if (anchor) {
    figure = anchor[(t.stat ?? 'ratio') as AnchorStat];
    unit = t.stat === undefined || t.stat === 'ratio' ? '×' : anchor.unit;
    // An anchor without quality predates the field: its cleanliness is unknown, so not clean.
    clean = anchor.quality?.clean === true;
    notes = anchor.quality?.notes ?? ['the anchor carries no quality'];
  } else {
    return { threshold: t, verdict: 'missing', detail: `no ${t.kind ?? 'benchmark or anchor'} ${t.id} in the result` };
  }
  if (figure === undefined || !Number.isFinite(figure)) {
    return { threshold: t, unit, verdict: 'missing', detail: `${t.id} has no ${t.stat ?? (benchmark ? 'median' : 'ratio')}` };
  }
  if (!clean) return { threshold: t, figure, unit, verdict: 'unclean', detail: `not clean: ${notes.join('; ') || 'no reason given'}` };
  const held = compare(figure, t.op, t.value);
  return { threshold: t, figure, unit, verdict: held ? 'pass' : 'fail', detail: held ? '' : `${figure} is not ${t.op} ${t.value}` };
}

export function evaluateThresholds(result: ThresholdSubject, file: ThresholdsFile): ThresholdOutcome[] {
  return file.thresholds.map((t) => evaluateThreshold(result, t));
}

export function thresholdsHold(outcomes: readonly ThresholdOutcome[]): boolean {
  return outcomes.every((o) => o.verdict === 'pass');
}

/** The summary: one line per threshold with its figure and verdict. */
export function formatThresholds(outcomes: readonly ThresholdOutcome[]): string {
  const lines = outcomes.map((o) => {
    const t = o.threshold;
    const figure = o.figure === undefined ? '—' : `${o.figure}${o.unit ? ` ${o.unit}` : ''}`;
    const verdict = o.verdict === 'pass' ? 'pass' : o.verdict.toUpperCase();
    return `  ${verdict.padEnd(8)} ${t.id} ${t.stat ?? ''}${t.stat ? ' ' : ''}${t.op} ${t.value}: ${figure}${o.detail ? ` (${o.detail})` : ''}${t.why ? ` — ${t.why}` : ''}`;
  });
  const failed = outcomes.filter((o) => o.verdict !== 'pass').length;
  return [`thresholds: ${outcomes.length - failed}/${outcomes.length} hold${failed ? `; ${failed} failed, missing or not clean` : ''}`, ...lines].join('\n');
}

/**
 * The regression gate: compares two result files (or a series) benchmark by benchmark.
 *
 * A benchmark is `regressed` only when all of these hold (docs/compare.md, "The gate"):
 *  1. both sides are comparable: present, same unit and direction, clean, and enough
 *     repetitions that the test can reach significance at the corrected level;
 *  2. it is not too noisy: the larger of the two runs' CV is at most `maxCvPct`;
 *  3. Mann-Whitney U p-value, Holm-corrected over the family of judged benchmarks, < alpha;
 *  4. the Hodges-Lehmann change is worse than the practical floor
 *     max(minChangePct, noiseMultiplier × larger CV) (criterion's noise threshold,
 *     BenchmarkDotNet's equivalence band, CodSpeed's "gate ≥ a multiple of CV").
 * `improved` is the mirror image. Everything else is said plainly and never gates.
 */
import type { BenchmarkResult, Better, ResultFile } from '../result/result.js';
import type { RunInfoWithExtras } from '../result/schema.js';
import { bonferroniAdjust, holmAdjust, mannWhitneyU, minimumPValue, relativeChange } from './significance.js';
import { KindedError } from '../../kinded-error.js';

export type Verdict =
  | 'improved'
  | 'regressed'
  | 'unchanged'
  | 'too-noisy'
  | 'too-few-samples'
  | 'not-clean'
  | 'only-in-base'
  | 'only-in-head'
  | 'unit-differs'
  | 'direction-differs';

/** Verdicts that come from the statistics (the others say why a benchmark was not judged). */
export const JUDGED_VERDICTS: readonly Verdict[] = ['improved', 'regressed', 'unchanged'];

export type Correction = 'holm' | 'bonferroni' | 'none';

export interface CompareOptions {
  /** Family-wise significance level. Default 0.05. */
  alpha?: number;
  /** Practical floor: smallest change in percent that can ever count. Default 3. */
  minChangePct?: number;
  /** k in "floor ≥ k × the larger run's CV". Default 2. */
  noiseMultiplier?: number;
  /** Above this CV (percent) in either run the benchmark is reported too noisy and does not gate. Default 10. */
  maxCvPct?: number;
  /** Multiple-comparison correction over the judged benchmarks. Default 'holm'. */
  correction?: Correction;
  /** Confidence of the change interval. Default 0.95. */
  confidence?: number;
}

export type ResolvedCompareOptions = Required<CompareOptions>;

export const DEFAULT_COMPARE_OPTIONS: ResolvedCompareOptions = {
  alpha: 0.05,
  minChangePct: 3,
  noiseMultiplier: 2,
  maxCvPct: 10,
  correction: 'holm',
  confidence: 0.95,
};

export type CompareErrorKind = 'bad-option' | 'too-few-files';

export class CompareError extends KindedError<CompareErrorKind> {}

export function resolveCompareOptions(options: CompareOptions = {}): ResolvedCompareOptions {
  const o = { ...DEFAULT_COMPARE_OPTIONS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  if (!(o.alpha > 0 && o.alpha < 1)) throw new CompareError('bad-option', `alpha must be in (0, 1), got ${o.alpha}`);
  if (!(o.minChangePct >= 0)) throw new CompareError('bad-option', `min-change must be >= 0 percent, got ${o.minChangePct}`);
  if (!(o.noiseMultiplier >= 0)) throw new CompareError('bad-option', `noise multiplier must be >= 0, got ${o.noiseMultiplier}`);
  if (!(o.maxCvPct > 0)) throw new CompareError('bad-option', `max-cv must be > 0 percent, got ${o.maxCvPct}`);
  if (!(o.confidence > 0 && o.confidence < 1)) throw new CompareError('bad-option', `confidence must be in (0, 1), got ${o.confidence}`);
  if (!['holm', 'bonferroni', 'none'].includes(o.correction)) throw new CompareError('bad-option', `correction must be holm, bonferroni or none, got ${o.correction}`);
  return o;
}

export interface SideSummary {
  n: number;
  median: number;
  /** Coefficient of variation of the repetitions, percent. */
  cvPct: number;
}

export interface ComparisonRow {
  id: string;
  unit: string;
  better: Better;
  verdict: Verdict;
  /** True when this row can fail the gate (verdict is `regressed`). */
  gating: boolean;
  base?: SideSummary;
  head?: SideSummary;
  /** (head median − base median) / base median, percent. */
  medianChangePct?: number;
  /** Hodges-Lehmann estimate of the change, percent, and its CI. */
  changePct?: number;
  changeCiPct?: [number, number];
  /** Raw two-sided Mann-Whitney p-value and the family-corrected one. */
  p?: number;
  pAdjusted?: number;
  pMethod?: 'exact' | 'normal';
  /** Practical floor this benchmark had to exceed, percent. */
  floorPct?: number;
  notes: string[];
}

export interface EnvironmentDifference {
  field: string;
  base: string;
  head: string;
}

export interface RunLabel {
  runId: string;
  commit: string;
  branch: string;
  startedAt: string;
  profile: string;
  /** File path when read from disk (set by the caller). */
  source?: string;
}

export interface Comparison {
  base: RunLabel;
  head: RunLabel;
  options: ResolvedCompareOptions;
  /** Benchmarks in the corrected family (judged by the test). */
  familySize: number;
  rows: ComparisonRow[];
  environment: EnvironmentDifference[];
  /** Checks the head run failed (compliance invariants etc.): said plainly, they do not change verdicts. */
  failedChecks: { id: string; detail: string }[];
  counts: Record<Verdict, number>;
  regressed: boolean;
}

export function runLabel(file: ResultFile, source?: string): RunLabel {
  return {
    runId: file.run.id,
    commit: file.environment.git.commit,
    branch: file.environment.git.branch,
    startedAt: file.run.started_at,
    profile: file.run.profile,
    ...(source !== undefined ? { source } : {}),
  };
}

/** Environment fields that make figures incomparable when they differ (harness-anchors §5: testbeds). */
export function environmentDifferences(base: ResultFile, head: ResultFile): EnvironmentDifference[] {
  const pairs: [string, string, string][] = [
    ['CPU model', base.environment.cpu.model, head.environment.cpu.model],
    ['CPU cores', String(base.environment.cpu.cores), String(head.environment.cpu.cores)],
    ['Node version', base.environment.node_version, head.environment.node_version],
    ['OS', `${base.environment.os.platform}/${base.environment.os.arch}`, `${head.environment.os.platform}/${head.environment.os.arch}`],
    ['crypto backends', Object.keys(base.environment.crypto).sort().join(',') || 'none', Object.keys(head.environment.crypto).sort().join(',') || 'none'],
    ['profile', base.run.profile, head.run.profile],
  ];
  for (const backend of new Set([...Object.keys(base.environment.crypto), ...Object.keys(head.environment.crypto)])) {
    const b = (base.environment.crypto as Record<string, Record<string, string>>)[backend];
    const h = (head.environment.crypto as Record<string, Record<string, string>>)[backend];
    if (b && h) pairs.push([`${backend} backend primitives`, JSON.stringify(b), JSON.stringify(h)]);
  }
  return pairs.filter(([, b, h]) => b !== h).map(([field, b, h]) => ({ field, base: b, head: h }));
}

function side(b: BenchmarkResult): SideSummary {
  return { n: b.samples.length, median: b.summary.median, cvPct: b.summary.cv * 100 };
}

/** A benchmark slowed on purpose by the test-only switch is unclean for that reason alone; the gate must still judge it. */
function injectedInto(file: ResultFile, id: string): boolean {
  const injected = (file.run as RunInfoWithExtras).injected_slowdown;
  return injected !== undefined && id.includes(injected.pattern);
}

function uncleanReason(file: ResultFile, b: BenchmarkResult, which: string): string | undefined {
  if (b.quality.clean || injectedInto(file, b.id)) return undefined;
  return `${which} not clean${b.quality.notes.length ? `: ${b.quality.notes.join('; ')}` : ''}`;
}

function isWorse(better: Better, changePct: number): boolean {
  return better === 'lower' ? changePct > 0 : changePct < 0;
}

function emptyCounts(): Record<Verdict, number> {
  return {
    improved: 0,
    regressed: 0,
    unchanged: 0,
    'too-noisy': 0,
    'too-few-samples': 0,
    'not-clean': 0,
    'only-in-base': 0,
    'only-in-head': 0,
    'unit-differs': 0,
    'direction-differs': 0,
  };
}

const fmtPct = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;

/** Compares `head` against `base`. Pure: the same inputs always give the same verdicts. */
export function compareResults(base: ResultFile, head: ResultFile, options: CompareOptions = {}, sources: { base?: string; head?: string } = {}): Comparison {
  const o = resolveCompareOptions(options);
  const baseById = new Map(base.benchmarks.map((b) => [b.id, b]));
  const headById = new Map(head.benchmarks.map((b) => [b.id, b]));
  const ids = [...new Set([...baseById.keys(), ...headById.keys()])].sort();
  const rows: ComparisonRow[] = [];
  /** Rows that reach the test, with their samples. */
  const candidates: { row: ComparisonRow; b: BenchmarkResult; h: BenchmarkResult }[] = [];

  for (const id of ids) {
    const b = baseById.get(id);
    const h = headById.get(id);
    if (!b || !h) {
      const only = (b ?? h)!;
      rows.push({
        id,
        unit: only.unit,
        better: only.better,
        verdict: b ? 'only-in-base' : 'only-in-head',
        gating: false,
        ...(b ? { base: side(b) } : { head: side(h!) }),
        notes: [b ? 'missing in head run' : 'new in head run (no baseline)'],
      });
      continue;
    }
    const row: ComparisonRow = { id, unit: h.unit, better: h.better, verdict: 'unchanged', gating: false, base: side(b), head: side(h), notes: [] };
    rows.push(row);
    if (b.unit !== h.unit) {
      row.verdict = 'unit-differs';
      row.notes.push(`unit differs: base ${b.unit}, head ${h.unit}`);
      continue;
    }
    if (b.better !== h.better) {
      row.verdict = 'direction-differs';
      row.notes.push(`better differs: base ${b.better}, head ${h.better}`);
      continue;
    }
    const paramsBase = JSON.stringify(Object.entries(b.params).sort(([x], [y]) => x.localeCompare(y)));
    const paramsHead = JSON.stringify(Object.entries(h.params).sort(([x], [y]) => x.localeCompare(y)));
    if (paramsBase !== paramsHead) row.notes.push(`params differ: base ${paramsBase}, head ${paramsHead}`);
    if (b.summary.median !== 0) row.medianChangePct = ((h.summary.median - b.summary.median) / Math.abs(b.summary.median)) * 100;
    if (b.samples.length === 0 || h.samples.length === 0) {
      row.verdict = 'too-few-samples';
      row.notes.push('no samples on one side');
      continue;
    }
    const change = relativeChange(b.samples, h.samples, o.confidence);
    const test = mannWhitneyU(h.samples, b.samples);
    row.changePct = change.changePct;
    row.changeCiPct = change.ciPct;
    row.p = test.p;
    row.pMethod = test.method;
    const maxCvPct = Math.max(row.base!.cvPct, row.head!.cvPct);
    row.floorPct = Math.max(o.minChangePct, o.noiseMultiplier * maxCvPct);
    if (injectedInto(head, id)) row.notes.push(`test-only injected slowdown in head (${(head.run as RunInfoWithExtras).injected_slowdown!.fraction * 100}%)`);
    if (injectedInto(base, id)) row.notes.push(`test-only injected slowdown in base (${(base.run as RunInfoWithExtras).injected_slowdown!.fraction * 100}%)`);
    const unclean = [uncleanReason(base, b, 'base'), uncleanReason(head, h, 'head')].filter((x): x is string => x !== undefined);
    if (unclean.length > 0) {
      row.verdict = 'not-clean';
      row.notes.push(...unclean);
      continue;
    }
    if (maxCvPct > o.maxCvPct) {
      row.verdict = 'too-noisy';
      row.notes.push(`CV ${maxCvPct.toFixed(1)}% > ${o.maxCvPct}%: reported, not gating`);
      continue;
    }
    candidates.push({ row, b, h });
  }

  // The family is the benchmarks that can reach significance at the strictest corrected
  // level (Bonferroni's alpha/k, Holm's first step); drop the others until stable.
  let family = candidates;
  for (;;) {
    const k = o.correction === 'none' ? 1 : family.length;
    const next = family.filter(({ b, h }) => minimumPValue(b.samples.length, h.samples.length) < o.alpha / Math.max(1, k));
    if (next.length === family.length) break;
    family = next;
  }
  for (const c of candidates) {
    if (!family.includes(c)) {
      const k = o.correction === 'none' ? 1 : Math.max(1, family.length);
      c.row.verdict = 'too-few-samples';
      c.row.notes.push(
        `n = ${c.b.samples.length}/${c.h.samples.length}: smallest possible p ${minimumPValue(c.b.samples.length, c.h.samples.length).toPrecision(2)} cannot reach ${(o.alpha / k).toPrecision(2)} (alpha/${k}); need more repetitions`,
      );
    }
  }
  const raw = family.map((c) => c.row.p!);
  const adjusted = o.correction === 'holm' ? holmAdjust(raw) : o.correction === 'bonferroni' ? bonferroniAdjust(raw) : raw;
  family.forEach(({ row }, i) => {
    row.pAdjusted = adjusted[i]!;
    const significant = row.pAdjusted < o.alpha;
    const beyondFloor = Math.abs(row.changePct!) > row.floorPct!;
    if (significant && beyondFloor) {
      row.verdict = isWorse(row.better, row.changePct!) ? 'regressed' : 'improved';
      row.gating = row.verdict === 'regressed';
    } else {
      row.verdict = 'unchanged';
      if (significant) row.notes.push(`significant but ${fmtPct(row.changePct!)} is within the ±${row.floorPct!.toFixed(1)}% floor`);
      else if (beyondFloor) row.notes.push(`${fmtPct(row.changePct!)} beyond the floor but not significant (p = ${row.pAdjusted.toPrecision(2)})`);
    }
  });

  const counts = emptyCounts();
  for (const r of rows) counts[r.verdict]++;
  return {
    base: runLabel(base, sources.base),
    head: runLabel(head, sources.head),
    options: o,
    familySize: family.length,
    rows,
    environment: environmentDifferences(base, head),
    failedChecks: head.checks.filter((c) => !c.passed).map((c) => ({ id: c.id, detail: c.detail })),
    counts,
    regressed: counts.regressed > 0,
  };
}

export interface SeriesRow {
  id: string;
  unit: string;
  better: Better;
  /** Median in each file, undefined where the benchmark is absent. */
  medians: (number | undefined)[];
  /** Verdict of each adjacent step (file i vs i+1); `absent` when neither file of the step has it. */
  steps: (Verdict | 'absent')[];
  /** First file that has the benchmark vs the last file: the row that gates. */
  overall: ComparisonRow;
}

export interface Series {
  runs: RunLabel[];
  options: ResolvedCompareOptions;
  steps: Comparison[];
  /** First vs last run, with its own family correction. */
  overall: Comparison;
  rows: SeriesRow[];
  regressed: boolean;
}

/** Compares runs in the given order: each adjacent step, and first vs last (the gate). */
export function compareSeries(files: readonly ResultFile[], options: CompareOptions = {}, sources: readonly string[] = []): Series {
  if (files.length < 2) throw new CompareError('too-few-files', `a comparison needs at least two result files, got ${files.length}`);
  const o = resolveCompareOptions(options);
  const steps = files.slice(1).map((head, i) => compareResults(files[i]!, head, o, { base: sources[i], head: sources[i + 1] }));
  const overall = compareResults(files[0]!, files[files.length - 1]!, o, { base: sources[0], head: sources[files.length - 1] });
  const rows: SeriesRow[] = overall.rows.map((row) => ({
    id: row.id,
    unit: row.unit,
    better: row.better,
    medians: files.map((f) => f.benchmarks.find((b) => b.id === row.id)?.summary.median),
    steps: steps.map((s) => s.rows.find((r) => r.id === row.id)?.verdict ?? 'absent'),
    overall: row,
  }));
  return {
    runs: files.map((f, i) => runLabel(f, sources[i])),
    options: o,
    steps,
    overall,
    rows,
    regressed: overall.regressed,
  };
}

/**
 * The regression gate: compares two result files (or a series) benchmark by benchmark.
 *
 * Two rules, by the kind of figure (docs/compare.md, "The gate"):
 *
 * Counts (`instructions/op`, CodSpeed's approach): run to run they repeat to ~0.1%, so a row is
 * `regressed` when it is comparable and not too noisy, every head sample is worse than every base
 * sample, and the Hodges-Lehmann change is beyond max(countMinChangePct, noiseMultiplier × larger CV).
 *
 * Wall time and every other unit (benchstat's approach): `regressed` only when all of these hold:
 *  1. both sides are comparable: present, same unit and direction, clean;
 *  2. it is not too noisy: the larger of the two runs' CV is at most `maxCvPct`;
 *  3. it is in the family: its smallest possible p can reach the corrected level (Tarone's
 *     rule for discrete tests: the family is chosen from the sample sizes alone);
 *  4. Mann-Whitney U p-value, Holm-corrected over the family, < alpha;
 *  5. the Hodges-Lehmann change is worse than the practical floor
 *     max(minChangePct, noiseMultiplier × larger CV) (criterion's noise threshold,
 *     BenchmarkDotNet's equivalence band, CodSpeed's "gate ≥ a multiple of CV").
 * `improved` is the mirror image. Everything else is said plainly and never gates; a row that
 * could not be judged but moved the wrong way beyond its floor is a warning. When no row at all
 * could be judged the outcome is `inconclusive`, never "no regression".
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

/** What the whole comparison concluded. */
export type Outcome = 'regression' | 'no-regression' | 'inconclusive';

/**
 * Exit codes of `npm run compare` and `npm run nightly` per outcome (2 is bad input, 3 is kept
 * for failed thresholds). `inconclusive` has its own code so CI can tell "nothing could be
 * judged" from a pass.
 */
export const OUTCOME_EXIT_CODES: Readonly<Record<Outcome, number>> = { 'no-regression': 0, regression: 1, inconclusive: 4 };

/** How a row is judged: counts by their own rule, everything else by the rank test. */
export type JudgingRule = 'count' | 'rank-test';

/** Units whose run-to-run spread is a fraction of a percent (callgrind counts): judged by the count rule. */
export const COUNT_UNITS: readonly string[] = ['instructions/op'];

/** Fewest samples per side the count rule accepts (all on one side by chance: 1 in 20 at 3 + 3, and the floor still applies). */
export const COUNT_MIN_SAMPLES = 3;

export type Correction = 'holm' | 'bonferroni' | 'none';

export interface CompareOptions {
  /** Family-wise significance level. Default 0.05. */
  alpha?: number;
  /** Practical floor: smallest change in percent that can ever count (rank-test rows). Default 3. */
  minChangePct?: number;
  /** Smallest change in percent that can count for a count row (instructions/op). Default 2. */
  countMinChangePct?: number;
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
  countMinChangePct: 2,
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
  if (!(o.countMinChangePct >= 0)) throw new CompareError('bad-option', `count-min-change must be >= 0 percent, got ${o.countMinChangePct}`);
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
  /** Which rule judges (or would judge) this row. */
  rule: JudgingRule;
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
  /** Set when the row could not be judged but moved the wrong way beyond its floor. */
  warning?: string;
  notes: string[];
}

/** A row that could not be judged but moved the wrong way beyond its floor: shown in the summary, not gating. */
export interface ComparisonWarning {
  id: string;
  verdict: Verdict;
  changePct: number;
  floorPct: number;
  message: string;
}

/** Why nothing could be judged, and what to run instead. */
export interface Inconclusive {
  reason: string;
  advice: string[];
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
  /** Benchmarks in the corrected family (judged by the rank test). */
  familySize: number;
  /** Strictest corrected level a rank-test row had to be able to reach to join the family (alpha / K, Tarone). */
  familyLevel: number;
  /** Rows judged by the count rule. */
  countRows: number;
  rows: ComparisonRow[];
  environment: EnvironmentDifference[];
  /** Checks the head run failed (compliance invariants etc.): said plainly, they do not change verdicts. */
  failedChecks: { id: string; detail: string }[];
  counts: Record<Verdict, number>;
  regressed: boolean;
  outcome: Outcome;
  /** Set when the outcome is `inconclusive`. */
  inconclusive?: Inconclusive;
  warnings: ComparisonWarning[];
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

/** Rule of a row: the count rule for load-independent counts, the rank test for everything else. */
export function judgingRule(unit: string): JudgingRule {
  return COUNT_UNITS.includes(unit) ? 'count' : 'rank-test';
}

/** Every head sample worse than every base sample (`better` says which way is worse). */
function allWorse(better: Better, base: readonly number[], head: readonly number[]): boolean {
  return better === 'lower' ? Math.min(...head) > Math.max(...base) : Math.max(...head) < Math.min(...base);
}

/** Every head sample better than every base sample. */
function allBetter(better: Better, base: readonly number[], head: readonly number[]): boolean {
  return allWorse(better === 'lower' ? 'higher' : 'lower', base, head);
}

/** The count rule (CodSpeed-style): beyond the floor with every sample on one side. */
function judgeCount(row: ComparisonRow, b: BenchmarkResult, h: BenchmarkResult): void {
  const change = row.changePct!;
  const beyondFloor = Math.abs(change) > row.floorPct!;
  const worse = allWorse(row.better, b.samples, h.samples);
  const better = allBetter(row.better, b.samples, h.samples);
  if (beyondFloor && (worse || better)) {
    row.verdict = worse ? 'regressed' : 'improved';
    row.gating = worse;
    return;
  }
  row.verdict = 'unchanged';
  if (beyondFloor) row.notes.push(`${fmtPct(change)} beyond the ±${row.floorPct!.toFixed(1)}% floor but base and head samples overlap`);
}

/**
 * Tarone's rule for discrete tests (Tarone 1990): the smallest K ≥ 1 such that at most K rows
 * have a smallest possible p below alpha / K. Those rows are the family; the others can never
 * reach the level they would be tested at. Depends on the sample sizes only, never on the
 * outcomes, so choosing the family this way keeps the family-wise error ≤ alpha.
 */
export function taroneFamilyLevel(minimumPs: readonly number[], alpha: number): number {
  for (let k = 1; ; k++) {
    if (minimumPs.filter((p) => p < alpha / k).length <= k) return alpha / k;
  }
}

/** Smallest n per side whose smallest possible p is below `level`. */
export function repetitionsToReach(level: number): number {
  let n = 2;
  while (minimumPValue(n, n) >= level) n++;
  return n;
}

const ADVICE = {
  'too-few-samples': (n: number): string =>
    `more repetitions per side: \`npm run bench -- --profile ci\` (10) at both commits, or pool runs (\`npm run nightly -- --base-tree <dir> --rounds 2\`); ${n} per side would let every comparable row be judged`,
  'too-noisy': 'a quieter machine, or the bench pinned to one CPU (`taskset -c 0 npm run bench …`); noisy rows are reported, never judged',
  'not-clean': 'runs whose figures are clean (see quality.notes in the result files)',
  counts: 'the instruction counts (`instr/` rows, valgrind installed: `apt-get install valgrind`), judged at the default profile\'s 5 repetitions',
  missing: 'result files with benchmarks in common (same --filter and --backend)',
} as const;

function inconclusiveAdvice(counts: Record<Verdict, number>, countRows: number, repetitionsNeeded: number): Inconclusive {
  const unjudged = (['too-noisy', 'too-few-samples', 'not-clean', 'only-in-base', 'only-in-head', 'unit-differs', 'direction-differs'] as const)
    .filter((v) => counts[v] > 0)
    .map((v) => `${counts[v]} ${v}`);
  const advice: string[] = [];
  if (counts['too-few-samples'] > 0) advice.push(ADVICE['too-few-samples'](repetitionsNeeded));
  if (countRows === 0) advice.push(ADVICE.counts);
  if (counts['too-noisy'] > 0) advice.push(ADVICE['too-noisy']);
  if (counts['not-clean'] > 0) advice.push(ADVICE['not-clean']);
  const unmatched = counts['only-in-base'] + counts['only-in-head'] + counts['unit-differs'] + counts['direction-differs'];
  if (unmatched === Object.values(counts).reduce((s, n) => s + n, 0)) advice.push(ADVICE.missing);
  return { reason: `no row could be judged${unjudged.length ? ` (${unjudged.join(', ')})` : ' (no benchmarks in common)'}`, advice };
}

/** Compares `head` against `base`. Pure: the same inputs always give the same verdicts. */
export function compareResults(base: ResultFile, head: ResultFile, options: CompareOptions = {}, sources: { base?: string; head?: string } = {}): Comparison {
  const o = resolveCompareOptions(options);
  const baseById = new Map(base.benchmarks.map((b) => [b.id, b]));
  const headById = new Map(head.benchmarks.map((b) => [b.id, b]));
  const ids = [...new Set([...baseById.keys(), ...headById.keys()])].sort();
  const rows: ComparisonRow[] = [];
  /** Rank-test rows that reach the family selection, with their samples. */
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
        rule: judgingRule(only.unit),
        gating: false,
        ...(b ? { base: side(b) } : { head: side(h!) }),
        notes: [b ? 'missing in head run' : 'new in head run (no baseline)'],
      });
      continue;
    }
    const rule = judgingRule(h.unit);
    const row: ComparisonRow = { id, unit: h.unit, better: h.better, verdict: 'unchanged', rule, gating: false, base: side(b), head: side(h), notes: [] };
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
    row.floorPct = Math.max(rule === 'count' ? o.countMinChangePct : o.minChangePct, o.noiseMultiplier * maxCvPct);
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
    if (rule === 'count') {
      if (Math.min(b.samples.length, h.samples.length) < COUNT_MIN_SAMPLES) {
        row.verdict = 'too-few-samples';
        row.notes.push(`n = ${b.samples.length}/${h.samples.length}: the count rule needs ${COUNT_MIN_SAMPLES} samples per side`);
      } else judgeCount(row, b, h);
      continue;
    }
    candidates.push({ row, b, h });
  }

  // The family: rank-test rows whose smallest possible p can reach the level they are tested at.
  const minimumP = (c: (typeof candidates)[number]): number => minimumPValue(c.b.samples.length, c.h.samples.length);
  const familyLevel = o.correction === 'none' ? o.alpha : taroneFamilyLevel(candidates.map(minimumP), o.alpha);
  const family = candidates.filter((c) => minimumP(c) < familyLevel);
  const repetitionsNeeded = repetitionsToReach(o.correction === 'none' ? o.alpha : o.alpha / Math.max(1, candidates.length));
  for (const c of candidates) {
    if (family.includes(c)) continue;
    c.row.verdict = 'too-few-samples';
    c.row.notes.push(
      `n = ${c.b.samples.length}/${c.h.samples.length}: smallest possible p ${minimumP(c).toPrecision(2)} is not below ${familyLevel.toPrecision(2)} ` +
        `(alpha ${o.alpha} / ${Math.round(o.alpha / familyLevel)}, Tarone's family level over the ${candidates.length} comparable rows); ` +
        `${repetitionsNeeded} repetitions per side would let it be judged`,
    );
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

  const warnings: ComparisonWarning[] = [];
  for (const row of rows) {
    if ((row.verdict !== 'too-noisy' && row.verdict !== 'too-few-samples') || row.changePct === undefined || row.floorPct === undefined) continue;
    if (!isWorse(row.better, row.changePct) || Math.abs(row.changePct) <= row.floorPct) continue;
    row.warning = `${fmtPct(row.changePct)} (worse) beyond its ±${row.floorPct.toFixed(1)}% floor, but ${row.verdict === 'too-noisy' ? 'too noisy' : 'too few samples'} to judge`;
    warnings.push({ id: row.id, verdict: row.verdict, changePct: row.changePct, floorPct: row.floorPct, message: row.warning });
  }

  const counts = emptyCounts();
  for (const r of rows) counts[r.verdict]++;
  const judged = JUDGED_VERDICTS.reduce((s, v) => s + counts[v], 0);
  const outcome: Outcome = counts.regressed > 0 ? 'regression' : judged === 0 ? 'inconclusive' : 'no-regression';
  const countRows = rows.filter((r) => r.rule === 'count' && r.base && r.head).length;
  return {
    base: runLabel(base, sources.base),
    head: runLabel(head, sources.head),
    options: o,
    familySize: family.length,
    familyLevel,
    countRows,
    rows,
    environment: environmentDifferences(base, head),
    failedChecks: head.checks.filter((c) => !c.passed).map((c) => ({ id: c.id, detail: c.detail })),
    counts,
    regressed: counts.regressed > 0,
    outcome,
    ...(outcome === 'inconclusive' ? { inconclusive: inconclusiveAdvice(counts, countRows, repetitionsNeeded) } : {}),
    warnings,
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
  /** The outcome of the gate (first vs last). */
  outcome: Outcome;
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
    outcome: overall.outcome,
  };
}

/**
 * Renders a Comparison or a Series as a plain-text table (terminal), GitHub markdown
 * (job summary, PR comment) or JSON (machines). Rendering only: verdicts come from compare.ts.
 */
import type { Comparison, ComparisonRow, Outcome, RunLabel, Series, Verdict } from './compare.js';

export type CompareFormat = 'table' | 'md' | 'json';
export const COMPARE_FORMATS: readonly CompareFormat[] = ['table', 'md', 'json'];

const VERDICT_MARK: Record<Verdict | 'absent', string> = {
  improved: 'improved',
  regressed: 'REGRESSED',
  unchanged: 'unchanged',
  'too-noisy': 'too noisy',
  'too-few-samples': 'too few samples',
  'not-clean': 'not clean',
  'only-in-base': 'only in base',
  'only-in-head': 'only in head',
  'unit-differs': 'unit differs',
  'direction-differs': 'direction differs',
  absent: '–',
};

const MD_MARK: Partial<Record<Verdict, string>> = { improved: '🟢 improved', regressed: '🔴 **regressed**', unchanged: '⚪ unchanged' };

/** Four significant digits, no exponent for ordinary magnitudes. */
export function formatValue(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  const abs = Math.abs(x);
  if (abs !== 0 && (abs >= 1e9 || abs < 1e-3)) return x.toExponential(3);
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(4)).toString();
}

export function formatPct(x: number | undefined): string {
  if (x === undefined) return '–';
  if (!Number.isFinite(x)) return x > 0 ? '+∞' : '−∞';
  return `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
}

function formatP(p: number | undefined): string {
  if (p === undefined) return '–';
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

function changeCell(r: ComparisonRow): string {
  if (r.changePct === undefined) return formatPct(r.medianChangePct);
  const ci = r.changeCiPct ? ` [${formatPct(r.changeCiPct[0])}, ${formatPct(r.changeCiPct[1])}]` : '';
  return `${formatPct(r.changePct)}${ci}`;
}

function label(run: RunLabel): string {
  return `${run.commit ? run.commit.slice(0, 10) : run.runId}${run.branch ? ` (${run.branch})` : ''}${run.source ? ` ${run.source}` : ''}`;
}

const OUTCOME_TEXT: Record<Outcome, string> = { regression: 'REGRESSION', 'no-regression': 'no regression', inconclusive: 'INCONCLUSIVE' };
const OUTCOME_MARK: Record<Outcome, string> = { regression: '🔴', 'no-regression': '🟢', inconclusive: '🟡' };

function headline(c: Pick<Comparison, 'outcome' | 'counts' | 'warnings'>): string {
  const n = c.counts;
  const judged = `${n.regressed} regressed, ${n.improved} improved, ${n.unchanged} unchanged`;
  const other = (['too-noisy', 'too-few-samples', 'not-clean', 'only-in-base', 'only-in-head', 'unit-differs', 'direction-differs'] as const)
    .filter((v) => n[v] > 0)
    .map((v) => `${n[v]} ${VERDICT_MARK[v]}`)
    .join(', ');
  const warned = c.warnings.length ? `; ${c.warnings.length} warning(s)` : '';
  return `${OUTCOME_TEXT[c.outcome]}: ${judged}${other ? `; not judged: ${other}` : ''}${warned}`;
}

function gateLine(c: Comparison): string {
  const o = c.options;
  return (
    `gate: counts (${c.countRows} row(s)): every sample on one side and beyond max(${o.countMinChangePct}%, ${o.noiseMultiplier} × CV); ` +
    `other rows: Mann-Whitney U two-sided, ${o.correction} over ${c.familySize} judged benchmark(s) (family level ${c.familyLevel.toPrecision(2)}), alpha ${o.alpha}, ` +
    `floor max(${o.minChangePct}%, ${o.noiseMultiplier} × CV); too noisy above CV ${o.maxCvPct}%`
  );
}

/** The warnings and, when nothing was judged, why and what to run instead: plain lines. */
function attentionLines(c: Comparison): string[] {
  const out: string[] = [];
  if (c.inconclusive) out.push(`INCONCLUSIVE: ${c.inconclusive.reason}. Nothing was judged, so this is not a pass. Run instead:`, ...c.inconclusive.advice.map((a) => `  - ${a}`));
  if (c.warnings.length) out.push(`WARNING: ${c.warnings.length} row(s) moved the wrong way beyond their floor but could not be judged:`, ...c.warnings.map((w) => `  ! ${w.id}: ${w.message}`));
  return out;
}

function attentionMarkdown(c: Comparison): string[] {
  const out: string[] = [];
  if (c.inconclusive) {
    out.push('> [!IMPORTANT]', `> **Inconclusive**: ${mdEscape(c.inconclusive.reason)}. Nothing was judged, so this is not a pass. Run instead:`);
    for (const a of c.inconclusive.advice) out.push(`> - ${mdEscape(a)}`);
    out.push('');
  }
  if (c.warnings.length) {
    out.push('> [!WARNING]', `> ${c.warnings.length} row(s) moved the wrong way beyond their floor but could not be judged (not gating):`);
    for (const w of c.warnings) out.push(`> - \`${w.id}\`: ${mdEscape(w.message)}`);
    out.push('');
  }
  return out;
}

/** Verdict cell: a row with a warning says so next to its verdict. */
function verdictCell(r: ComparisonRow, marks: Partial<Record<Verdict, string>>): string {
  return `${marks[r.verdict] ?? VERDICT_MARK[r.verdict]}${r.warning ? ' ⚠ warning' : ''}`;
}

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const mdEscape = (s: string): string => s.replace(/\|/g, '\\|');

function comparisonCells(r: ComparisonRow): string[] {
  return [
    r.id,
    r.unit,
    `${formatValue(r.base?.median)}${r.base ? ` (n=${r.base.n}, cv ${r.base.cvPct.toFixed(1)}%)` : ''}`,
    `${formatValue(r.head?.median)}${r.head ? ` (n=${r.head.n}, cv ${r.head.cvPct.toFixed(1)}%)` : ''}`,
    changeCell(r),
    `${formatP(r.p)} / ${formatP(r.pAdjusted)}`,
    r.floorPct === undefined ? '–' : `±${r.floorPct.toFixed(1)}%`,
  ];
}

const COMPARISON_HEADER = ['benchmark', 'unit', 'base median', 'head median', 'change [95% CI]', 'p / p adj', 'floor', 'verdict'];

export function formatComparisonTable(c: Comparison): string {
  const out = [`base ${label(c.base)}  ->  head ${label(c.head)}`, headline(c), ...attentionLines(c)];
  for (const d of c.environment) out.push(`environment differs: ${d.field}: base ${d.base}, head ${d.head}`);
  for (const f of c.failedChecks) out.push(`head run FAILED check ${f.id}: ${f.detail}`);
  out.push('', textTable(COMPARISON_HEADER, c.rows.map((r) => [...comparisonCells(r), verdictCell(r, VERDICT_MARK)])));
  const notes = c.rows.filter((r) => r.notes.length > 0).map((r) => `  ${r.id}: ${r.notes.join('; ')}`);
  if (notes.length) out.push('', 'notes:', ...notes);
  out.push('', gateLine(c));
  return out.join('\n') + '\n';
}

export function formatComparisonMarkdown(c: Comparison): string {
  const out = [
    `## sigload compare: ${OUTCOME_MARK[c.outcome]} ${headline(c)}`,
    '',
    `base \`${label(c.base)}\` (${c.base.startedAt}, ${c.base.profile}) → head \`${label(c.head)}\` (${c.head.startedAt}, ${c.head.profile})`,
    '',
    ...attentionMarkdown(c),
  ];
  if (c.environment.length) {
    out.push('> [!WARNING]', '> The runs were made in different environments; figures may not be comparable:');
    for (const d of c.environment) out.push(`> - **${d.field}**: base \`${d.base}\`, head \`${d.head}\``);
    out.push('');
  }
  if (c.failedChecks.length) {
    out.push('> [!CAUTION]', '> The head run failed checks:');
    for (const f of c.failedChecks) out.push(`> - \`${f.id}\`: ${mdEscape(f.detail)}`);
    out.push('');
  }
  out.push(`| ${COMPARISON_HEADER.join(' | ')} |`, `|${COMPARISON_HEADER.map((_, i) => (i >= 2 && i <= 6 ? ' ---: ' : ' --- ')).join('|')}|`);
  for (const r of c.rows) {
    out.push(`| ${[...comparisonCells(r).map(mdEscape), verdictCell(r, MD_MARK)].join(' | ')} |`);
  }
  const notes = c.rows.filter((r) => r.notes.length > 0);
  if (notes.length) {
    out.push('', '<details><summary>notes</summary>', '');
    for (const r of notes) out.push(`- \`${r.id}\`: ${mdEscape(r.notes.join('; '))}`);
    out.push('', '</details>');
  }
  out.push('', `<sub>${gateLine(c)}</sub>`, '');
  return out.join('\n');
}

function seriesCells(s: Series): { header: string[]; rows: string[][] } {
  const header = ['benchmark', 'unit', ...s.runs.map((r, i) => `#${i + 1} ${r.commit.slice(0, 7) || r.runId}`), 'first→last', 'steps', 'verdict'];
  const rows = s.rows.map((r) => [
    r.id,
    r.unit,
    ...r.medians.map(formatValue),
    changeCell(r.overall),
    r.steps.map((v) => VERDICT_MARK[v]).join(' → '),
    verdictCell(r.overall, VERDICT_MARK),
  ]);
  return { header, rows };
}

export function formatSeriesTable(s: Series): string {
  const { header, rows } = seriesCells(s);
  const out = [`series of ${s.runs.length} runs; gate on first vs last`, headline(s.overall), ...attentionLines(s.overall)];
  for (const d of s.overall.environment) out.push(`environment differs (first vs last): ${d.field}: ${d.base} vs ${d.head}`);
  out.push('', textTable(header, rows), '', gateLine(s.overall));
  return out.join('\n') + '\n';
}

export function formatSeriesMarkdown(s: Series): string {
  const { header, rows } = seriesCells(s);
  const out = [`## sigload trend over ${s.runs.length} runs: ${OUTCOME_MARK[s.outcome]} ${headline(s.overall)}`, '', ...attentionMarkdown(s.overall)];
  for (const d of s.overall.environment) out.push(`> [!WARNING]\n> environment differs (first vs last): **${d.field}**: \`${d.base}\` vs \`${d.head}\``, '');
  out.push(`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`);
  for (const r of rows) out.push(`| ${r.map(mdEscape).join(' | ')} |`);
  out.push('', `<sub>${gateLine(s.overall)}</sub>`, '');
  return out.join('\n');
}

/** JSON with infinities spelled as strings (JSON has no Infinity). */
export function formatJson(value: Comparison | Series): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n';
}

export function formatComparison(c: Comparison, format: CompareFormat): string {
  return format === 'json' ? formatJson(c) : format === 'md' ? formatComparisonMarkdown(c) : formatComparisonTable(c);
}

export function formatSeries(s: Series, format: CompareFormat): string {
  return format === 'json' ? formatJson(s) : format === 'md' ? formatSeriesMarkdown(s) : formatSeriesTable(s);
}

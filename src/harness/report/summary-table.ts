/**
 * The readable table printed at the end of `npm run bench`: per benchmark the median, spread
 * (CV and the 95% CI of the median), unit and n; then the anchor ratios against their goals;
 * then failed checks and suites.
 */
import type { ResultFile } from '../result/result.js';
import type { RunInfoWithExtras } from '../result/schema.js';

/** Up to 4 significant digits, thousands grouped, no exponent for everyday magnitudes. */
export function formatFigure(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs === 0) return '0';
  if (abs >= 1e4) return Math.round(value).toLocaleString('en-US');
  if (abs >= 1e-3) return Number(value.toPrecision(4)).toString();
  return value.toExponential(2);
}

function table(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

export function formatSummaryTable(result: ResultFile): string {
  const parts: string[] = [];
  const run = result.run as RunInfoWithExtras;
  if (run.injected_slowdown) {
    parts.push(
      `!! TEST RUN: SIGLOAD_INJECT_SLOWDOWN=${run.injected_slowdown.pattern}:${run.injected_slowdown.fraction} — figures are slowed on purpose`,
    );
  }
  if (result.benchmarks.length > 0) {
    const rows = result.benchmarks.map((b) => {
      const s = b.summary;
      const flag = b.quality.clean ? '' : ' *';
      return [
        b.id + flag,
        formatFigure(s.median),
        `±${(s.cv * 100).toFixed(1)}%`,
        `${formatFigure(s.ci95[0])} … ${formatFigure(s.ci95[1])}`,
        b.unit,
        b.better === 'higher' ? '↑' : '↓',
        String(s.n),
      ];
    });
    parts.push(table(['benchmark', 'median', 'cv', '95% CI of median', 'unit', 'better', 'n'], rows, new Set([1, 2, 6])));
    if (result.benchmarks.some((b) => !b.quality.clean)) parts.push('* not clean: see quality.notes in the result file');
  } else {
    parts.push('no benchmarks ran');
  }
  if (result.anchors.length > 0) {
    const rows = result.anchors.map((a) => [
      a.quality?.clean === false ? `${a.id} *` : a.id,
      formatFigure(a.ratio),
      a.goal ? `${a.goal.op} ${a.goal.value}` : '',
      a.met === undefined ? '' : a.met ? 'met' : 'NOT MET',
      `${formatFigure(a.ours)} ÷ ${formatFigure(a.theirs)} ${a.unit}`,
    ]);
    parts.push(table(['anchor', 'ratio', 'goal', '', 'ours ÷ theirs'], rows, new Set([1])));
    if (result.anchors.some((a) => a.quality?.clean === false)) parts.push('* not clean (built from figures that are not): see the anchor\'s quality.notes');
  }
  const failed = result.checks.filter((c) => !c.passed);
  if (failed.length > 0) parts.push(['FAILED checks:', ...failed.map((c) => `  ${c.id}: ${c.detail}`)].join('\n'));
  if (run.failed_suites?.length) parts.push(['FAILED suites:', ...run.failed_suites.map((f) => `  ${f.suite}: ${f.error}`)].join('\n'));
  return parts.join('\n\n');
}

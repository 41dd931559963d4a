/**
 * The HTML report: one self-contained file (Chart.js 4 inlined from node_modules, data
 * inlined as JSON, no network) with
 *  - the compare table of the last two runs (the gate's verdicts),
 *  - the anchor ratios of the latest run against their goals,
 *  - the trend of every benchmark across the runs, ordered by run start time,
 *  - latency percentile curves decoded from the HDR histograms,
 *  - throughput against worker count for benchmarks with a `workers` parameter,
 *  - per-second time series of load figures that carry one (throughput, p99, errors by code,
 *    server CPU per request), from the newest run that has them,
 *  - the capacity curve of capacity-at-SLO figures (offered rate against p99 and achieved
 *    rate, every step of every search), from the newest run that has one.
 *
 * This module prepares plain data and static HTML; `report-page/render.js` (inlined) only draws.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareResults, type Comparison, type CompareOptions } from '../statistics/compare.js';
import { formatPct, formatValue } from '../statistics/compare-format.js';
import type { LoadedResult } from '../statistics/compare-input.js';
import type { CapacityCurve, ResultFile } from '../result/result.js';
import type { LoadTimeSeries } from '../load/time-series.js';
import { decodeLatencyHistogram, type LatencyHistogram } from '../load/histogram.js';

export interface ReportRun {
  label: string;
  commit: string;
  branch: string;
  startedAt: string;
  profile: string;
  source: string;
}

export interface TrendSeries {
  id: string;
  unit: string;
  better: string;
  /** One entry per run (null where the run lacks the benchmark): median and 95% CI of the median. */
  points: ({ median: number; lo: number; hi: number } | null)[];
}

export interface LatencyCurve {
  id: string;
  /** One curve per run that has a histogram for this benchmark (at most the last 5). */
  curves: { run: string; points: { percentile: number; valueMs: number }[] }[];
}

export interface WorkerScaling {
  group: string;
  unit: string;
  run: string;
  points: { workers: number; median: number }[];
}

/** A load figure's per-second series (BenchmarkResult.time_series), ready to draw. */
export interface TimeSeriesPanel {
  id: string;
  run: string;
  /** Interval start, s. */
  t: number[];
  /** Requests due per second (offered) and answers per second (achieved). */
  offered: number[];
  answered: number[];
  p99Ms: (number | null)[];
  /** Failed requests per interval, by error key (Graph code, http_<status>, transport, timeout). */
  errors: Record<string, number[]>;
  /** Server CPU per answer, µs (null where unknown); absent without server figures. */
  cpuUserUs?: (number | null)[];
  cpuSystemUs?: (number | null)[];
}

/** A capacity-at-SLO figure's curve (BenchmarkResult.capacity), ready to draw. */
export interface CapacityPanel {
  id: string;
  run: string;
  unit: string;
  /** The SLO's statistic and bound, e.g. p99 ≤ 50 ms. */
  slo: CapacityCurve['slo'];
  /** The figure's median capacity. */
  capacity: number;
  /** Every step, ordered by offered rate. */
  steps: { offered: number; achieved: number; p99Ms: number | null; sloMs: number | null; passed: boolean; repetition: number }[];
}

export interface AnchorBar {
  id: string;
  ratio: number;
  unit: string;
  goal?: { op: '>=' | '<='; value: number };
  met?: boolean;
}

export interface ReportModel {
  title: string;
  generatedAt: string;
  runs: ReportRun[];
  trends: TrendSeries[];
  latency: LatencyCurve[];
  scaling: WorkerScaling[];
  timeSeries: TimeSeriesPanel[];
  capacity: CapacityPanel[];
  anchors: AnchorBar[];
  anchorsRun?: string;
}

/** Percentiles sampled from each histogram: dense towards the tail, as HDR plots are read. */
export const CURVE_PERCENTILES = [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 97.5, 99, 99.5, 99.9, 99.95, 99.99, 99.999];

function runLabelText(f: ResultFile): string {
  const commit = f.environment.git.commit.slice(0, 7) || f.run.id;
  return `${commit} ${f.run.started_at.slice(0, 16).replace('T', ' ')}`;
}

/** Decodes an `hdr_base64` histogram (µs values) into a percentile curve in ms. Empty on a bad or empty histogram. */
export function percentileCurve(hdrBase64: string): { percentile: number; valueMs: number }[] {
  let histogram: LatencyHistogram | undefined;
  try {
    histogram = decodeLatencyHistogram(hdrBase64);
  } catch {
    return [];
  }
  if (histogram === undefined) return [];
  try {
    if (histogram.totalCount === 0) return [];
    return CURVE_PERCENTILES.map((percentile) => ({ percentile, valueMs: histogram.getValueAtPercentile(percentile) / 1000 }));
  } finally {
    histogram.destroy();
  }
}

export function buildReportModel(inputs: readonly LoadedResult[], title = 'sigload report'): ReportModel {
  const ordered = [...inputs].sort((a, b) => Date.parse(a.file.run.started_at) - Date.parse(b.file.run.started_at));
  const runs: ReportRun[] = ordered.map(({ file, source }) => ({
    label: runLabelText(file),
    commit: file.environment.git.commit,
    branch: file.environment.git.branch,
    startedAt: file.run.started_at,
    profile: file.run.profile,
    source,
  }));

  const ids = [...new Set(ordered.flatMap(({ file }) => file.benchmarks.map((b) => b.id)))].sort();
  const trends: TrendSeries[] = ids.map((id) => {
    const first = ordered.map(({ file }) => file.benchmarks.find((b) => b.id === id)).find((b) => b !== undefined)!;
    return {
      id,
      unit: first.unit,
      better: first.better,
      points: ordered.map(({ file }) => {
        const b = file.benchmarks.find((x) => x.id === id);
        return b ? { median: b.summary.median, lo: b.summary.ci95[0], hi: b.summary.ci95[1] } : null;
      }),
    };
  });

  const latency: LatencyCurve[] = [];
  for (const id of ids) {
    const curves = ordered
      .map(({ file }, i) => {
        const b = file.benchmarks.find((x) => x.id === id);
        return b?.latency ? { run: runs[i]!.label, points: percentileCurve(b.latency.hdr_base64) } : undefined;
      })
      .filter((c): c is { run: string; points: { percentile: number; valueMs: number }[] } => c !== undefined && c.points.length > 0)
      .slice(-5);
    if (curves.length > 0) latency.push({ id, curves });
  }

  // Throughput against workers: each group from the newest run that has it.
  const scaling: WorkerScaling[] = [];
  const seenGroups = new Set<string>();
  for (const { file } of [...ordered].reverse()) {
    const groups = new Map<string, WorkerScaling>();
    for (const b of file.benchmarks) {
      const workers = Number(b.params['workers']);
      // Throughput figures only (higher is better); other params are recorded values, not dimensions.
      if (b.params['workers'] === undefined || !Number.isFinite(workers) || b.better !== 'higher') continue;
      // The id without its workers segment names the curve (e.g. pool/session-setup/node).
      const stem = b.id
        .split('/')
        .filter((seg) => seg !== `workers=${b.params['workers']}` && seg !== String(b.params['workers']))
        .join('/');
      const group = `${stem} (${b.unit})`;
      if (seenGroups.has(group)) continue;
      let g = groups.get(group);
      if (!g) groups.set(group, (g = { group, unit: b.unit, run: runLabelText(file), points: [] }));
      g.points.push({ workers, median: b.summary.median });
    }
    for (const g of groups.values()) {
      seenGroups.add(g.group);
      g.points.sort((a, b) => a.workers - b.workers);
      scaling.push(g);
    }
  }
  scaling.sort((a, b) => a.group.localeCompare(b.group));

  const timeSeries: TimeSeriesPanel[] = [];
  for (const id of ids) {
    const newest = [...ordered].reverse().find(({ file }) => file.benchmarks.some((b) => b.id === id && b.time_series && b.time_series.intervals.length > 0));
    const b = newest?.file.benchmarks.find((x) => x.id === id);
    if (b?.time_series) timeSeries.push(timeSeriesPanel(id, runLabelText(newest!.file), b.time_series));
  }

  const capacity: CapacityPanel[] = [];
  for (const id of ids) {
    const newest = [...ordered].reverse().find(({ file }) => file.benchmarks.some((b) => b.id === id && b.capacity && b.capacity.steps.length > 0));
    const b = newest?.file.benchmarks.find((x) => x.id === id);
    if (!b?.capacity) continue;
    const stat = b.capacity.slo.stat;
    const steps = [...b.capacity.steps].sort((x, y) => x.offered_rate_per_s - y.offered_rate_per_s);
    capacity.push({
      id,
      run: runLabelText(newest!.file),
      unit: b.unit,
      slo: b.capacity.slo,
      capacity: b.summary.median,
      steps: steps.map((st) => ({ offered: st.offered_rate_per_s, achieved: st.achieved_rate_per_s, p99Ms: st.p99_ms, sloMs: st[`${stat}_ms`], passed: st.passed, repetition: st.repetition })),
    });
  }

  const anchorsSource = [...ordered].reverse().find(({ file }) => file.anchors.length > 0);
  const anchors: AnchorBar[] = (anchorsSource?.file.anchors ?? []).map((a) => ({
    id: a.id,
    ratio: a.ratio,
    unit: a.unit,
    ...(a.goal ? { goal: a.goal } : {}),
    ...(a.met !== undefined ? { met: a.met } : {}),
  }));

  return {
    title,
    generatedAt: new Date().toISOString(),
    runs,
    trends,
    latency,
    scaling,
    timeSeries,
    capacity,
    anchors,
    ...(anchorsSource ? { anchorsRun: runLabelText(anchorsSource.file) } : {}),
  };
}

function timeSeriesPanel(id: string, run: string, series: LoadTimeSeries): TimeSeriesPanel {
  const intervals = series.intervals;
  const perSecond = (n: number, durationS: number): number => (durationS > 0 ? Math.round((n / durationS) * 100) / 100 : 0);
  const keys = [...new Set(intervals.flatMap((i) => Object.keys(i.errors)))].sort();
  const withServer = intervals.some((i) => i.server && i.server.cpu_user_us_per_request !== null);
  return {
    id,
    run,
    t: intervals.map((i) => i.start_s),
    offered: intervals.map((i) => perSecond(i.sent, series.interval_ms / 1000)),
    answered: intervals.map((i) => perSecond(i.completed, i.duration_s)),
    p99Ms: intervals.map((i) => (i.hdr_base64 === '' ? null : i.latency_ms.p99)),
    errors: Object.fromEntries(keys.map((k) => [k, intervals.map((i) => i.errors[k] ?? 0)])),
    ...(withServer
      ? { cpuUserUs: intervals.map((i) => i.server?.cpu_user_us_per_request ?? null), cpuSystemUs: intervals.map((i) => i.server?.cpu_system_us_per_request ?? null) }
      : {}),
  };
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON safe inside a <script> element (no `</script`, no `<!--`). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function compareTableHtml(c: Comparison): string {
  const rows = c.rows
    .map(
      (r) =>
        `<tr class="v-${r.verdict}"><td>${escapeHtml(r.id)}</td><td>${escapeHtml(r.unit)}</td><td class="num">${formatValue(r.base?.median)}</td>` +
        `<td class="num">${formatValue(r.head?.median)}</td><td class="num">${r.changePct === undefined ? formatPct(r.medianChangePct) : `${formatPct(r.changePct)} [${formatPct(r.changeCiPct?.[0])}, ${formatPct(r.changeCiPct?.[1])}]`}</td>` +
        `<td class="num">${r.pAdjusted === undefined ? '–' : r.pAdjusted.toPrecision(2)}</td><td class="num">${r.floorPct === undefined ? '–' : `±${r.floorPct.toFixed(1)}%`}</td>` +
        `<td>${escapeHtml(r.verdict)}${r.warning ? ' ⚠ warning' : ''}</td><td>${escapeHtml([...(r.warning ? [r.warning] : []), ...r.notes].join('; '))}</td></tr>`,
    )
    .join('\n');
  const env = c.environment.map((d) => `<li><b>${escapeHtml(d.field)}</b>: base ${escapeHtml(d.base)}, head ${escapeHtml(d.head)}</li>`).join('');
  const outcome = { regression: 'Regression', 'no-regression': 'No regression', inconclusive: 'Inconclusive' }[c.outcome];
  const warnings = c.warnings.map((w) => `<li><b>${escapeHtml(w.id)}</b>: ${escapeHtml(w.message)}</li>`).join('');
  return (
    `<p class="${c.outcome === 'no-regression' ? 'good' : 'bad'}">${outcome}: ${c.counts.regressed} regressed, ${c.counts.improved} improved, ${c.counts.unchanged} unchanged ` +
    `(base ${escapeHtml(c.base.commit.slice(0, 10))} → head ${escapeHtml(c.head.commit.slice(0, 10))}; counts by the count rule over ${c.countRows}, Holm-corrected Mann-Whitney over ${c.familySize}, alpha ${c.options.alpha}).</p>` +
    (c.inconclusive ? `<div class="warn">Nothing was judged: ${escapeHtml(c.inconclusive.reason)}. Run instead:<ul>${c.inconclusive.advice.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul></div>` : '') +
    (warnings ? `<div class="warn">Moved the wrong way beyond their floor but could not be judged:<ul>${warnings}</ul></div>` : '') +
    (env ? `<div class="warn">Environments differ:<ul>${env}</ul></div>` : '') +
    `<table><thead><tr><th>benchmark</th><th>unit</th><th>base median</th><th>head median</th><th>change [95% CI]</th><th>p adj</th><th>floor</th><th>verdict</th><th>notes</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222;max-width:1400px}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}td.num{text-align:right}
tr.v-regressed{background:#fdd}tr.v-improved{background:#dfd}.bad{color:#b00;font-weight:bold}.good{color:#070;font-weight:bold}
.warn{background:#fff4d6;padding:4px 8px}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:1rem}
.chart{border:1px solid #eee;padding:4px;height:260px;position:relative}.empty{color:#777;font-style:italic}`;

let chartJsSource: string | undefined;
let renderSource: string | undefined;

/** Chart.js UMD build from node_modules (the package's exports map hides dist/, so locate it from the main entry). */
export function chartJsBundle(): string {
  if (chartJsSource === undefined) {
    const require = createRequire(import.meta.url);
    const main = require.resolve('chart.js'); // …/chart.js/dist/chart.cjs
    chartJsSource = readFileSync(join(dirname(main), 'chart.umd.min.js'), 'utf8');
  }
  return chartJsSource;
}

function renderScript(): string {
  // dist/src/harness/report.js -> <repo>/src/harness/report-page/render.js
  renderSource ??= readFileSync(fileURLToPath(new URL('../../../../src/harness/report/page-render.js', import.meta.url)), 'utf8');
  return renderSource;
}

export interface ReportOptions {
  title?: string;
  compare?: CompareOptions;
}

/** The whole HTML document for these result files (at least one). */
export function renderReportHtml(inputs: readonly LoadedResult[], options: ReportOptions = {}): string {
  const model = buildReportModel(inputs, options.title);
  const ordered = [...inputs].sort((a, b) => Date.parse(a.file.run.started_at) - Date.parse(b.file.run.started_at));
  const compareHtml =
    ordered.length >= 2
      ? compareTableHtml(compareResults(ordered[ordered.length - 2]!.file, ordered[ordered.length - 1]!.file, options.compare ?? {}))
      : '<p class="empty">One run only: nothing to compare.</p>';
  const runList = model.runs
    .map((r) => `<li>${escapeHtml(r.label)} — ${escapeHtml(r.branch)}, profile ${escapeHtml(r.profile)}, <code>${escapeHtml(r.source)}</code></li>`)
    .join('');
  const chartJs = chartJsBundle().replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(model.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(model.title)}</h1>
<p>${model.runs.length} run(s), generated ${escapeHtml(model.generatedAt)}.</p><ul>${runList}</ul>
<h2 id="compare">Compare: last two runs</h2>
${compareHtml}
<h2 id="anchors">Anchors against their goals${model.anchorsRun ? ` (${escapeHtml(model.anchorsRun)})` : ''}</h2>
<div id="anchor-charts" class="grid"></div>
<h2 id="trends">Trend of every benchmark</h2>
<div id="trend-charts" class="grid"></div>
<h2 id="latency">Latency percentile curves (HDR histograms)</h2>
<div id="latency-charts" class="grid"></div>
<h2 id="scaling">Throughput against worker count</h2>
<div id="scaling-charts" class="grid"></div>
<h2 id="time-series">Load time series (per second)</h2>
<div id="time-series-charts" class="grid"></div>
<h2 id="capacity">Capacity at an SLO (latency against offered rate)</h2>
<div id="capacity-charts" class="grid"></div>
<script type="application/json" id="sigload-data">${scriptJson(model)}</script>
<script>${chartJs}</script>
<script>${renderScript()}</script>
</body></html>
`;
}

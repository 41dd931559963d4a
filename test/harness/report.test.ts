import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { chromium } from 'playwright-core';
import { noisySamples, seededRandom, syntheticResult, type SyntheticBenchmark } from '../../src/harness/statistics/compare-synthetic.js';
import { buildReportModel, percentileCurve } from '../../src/harness/report/report.js';
import { TimeSeriesRecorder, type LoadTimeSeries } from '../../src/harness/load/time-series.js';
import type { CapacityCurve } from '../../src/harness/result/result.js';
import { main as reportMain } from '../../scripts/report.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function latencyHdr(random: () => number, medianMs: number): string {
  const h = hdr.build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  for (let i = 0; i < 2000; i++) h.recordValue(Math.max(1, Math.round(medianMs * 1000 * Math.exp(0.4 * (random() + random() + random() - 1.5)))));
  const encoded = hdr.encodeIntoCompressedBase64(h);
  h.destroy();
  return encoded;
}

/** A 5-second load series with 131056 refusals in seconds 2–3 and server CPU/gauges at every boundary. */
function loadSeries(random: () => number): LoadTimeSeries {
  const recorder = new TimeSeriesRecorder(1000);
  for (let j = 0; j < 500; j++) {
    const due = j * 10;
    recorder.sent(due);
    if (due >= 2000 && due < 4000 && j % 9 === 0) recorder.failed(due, '131056');
    else recorder.answered(due, due + 3, 1 + 4 * random());
  }
  const snapshots = Array.from({ length: 6 }, (_, k) => ({
    index: k,
    atMs: k * 1000,
    process: { userMs: k * 20, systemMs: k * 5, rssBytes: 80e6 + k * 1e6 },
    metrics: { sigload_sessions: 40, sigload_heap_used_bytes: 30e6, sigload_event_loop_delay_p99_seconds: 0.011 },
  }));
  return recorder.finish(5000, snapshots, { proc: true, metrics_url: 'http://127.0.0.1:1/metrics' });
}

function capacityCurve(): CapacityCurve {
  const step = (repetition: number, offered: number, p99: number | null): CapacityCurve['steps'][number] => ({
    repetition,
    offered_rate_per_s: offered,
    achieved_rate_per_s: Math.min(offered, 300),
    p50_ms: p99 === null ? null : p99 / 4,
    p90_ms: p99 === null ? null : p99 / 2,
    p99_ms: p99,
    errors: p99 === null ? offered : 0,
    requests: offered * 2,
    passed: p99 !== null && p99 <= 50,
  });
  return {
    slo: { stat: 'p99', max_ms: 50 },
    max_error_rate: 0.01,
    tolerance: 0.05,
    warm_up_s: 1,
    measure_s: 2,
    steps: [step(0, 50, 4), step(0, 100, 5), step(0, 200, 9), step(0, 400, null), step(0, 283, 30), step(0, 336, 400), step(0, 308, 120), step(1, 283, 28), step(1, 354, 600), step(1, 300, 45)],
  };
}

function fixtureRuns(dir: string): string[] {
  const random = seededRandom(21);
  return ['2026-01-01', '2026-01-02', '2026-01-03'].map((day, i) => {
    const benchmarks: SyntheticBenchmark[] = [
      { id: 'signal/message/encrypt/noble', samples: noisySamples({ n: 10, median: 5000, cv: 0.02, random }) },
      { id: 'signal/pqxdh/initiate/noble', samples: noisySamples({ n: 10, median: 300, cv: 0.02, random }) },
      {
        id: 'load/send/open/p50',
        unit: 'ms',
        better: 'lower',
        samples: noisySamples({ n: 5, median: 2, cv: 0.05, random }),
        latency: { unit: 'ms', p50: 2, p90: 3, p99: 4, p999: 5, max: 6, hdr_base64: latencyHdr(random, 2) },
      },
      ...[1, 2, 4].map((w) => ({ id: `pool/devices/workers=${w}`, unit: 'msgs/s', params: { workers: w, backend: 'noble' }, samples: noisySamples({ n: 5, median: 1000 * Math.sqrt(w), cv: 0.03, random }) })),
    ];
    const file = join(dir, `run-${i}.json`);
    const result = syntheticResult({
      benchmarks,
      commit: `${i}abcdef0123`,
      startedAt: `${day}T03:00:00.000Z`,
      anchors: [
        { id: 'encrypt-vs-libsignal', ratio: 0.8, ours: 800, theirs: 1000, unit: 'ops/s', goal: { op: '>=', value: 0.5 }, met: true },
        { id: 'server-vs-bare-http', ratio: 0.3, ours: 300, theirs: 1000, unit: 'req/s', goal: { op: '>=', value: 0.4 }, met: false },
      ],
    });
    // The newest run's open-model figure carries a per-second series (one panel of four charts).
    if (i === 2) result.benchmarks.find((b) => b.id === 'load/send/open/p50')!.time_series = loadSeries(random);
    // … and a capacity curve (one chart): two searches around 300/s at p99 ≤ 50 ms.
    if (i === 2) result.benchmarks.find((b) => b.id === 'load/send/open/p50')!.capacity = capacityCurve();
    writeFileSync(file, JSON.stringify(result));
    return file;
  });
}

test('HDR histograms decode into monotone percentile curves', () => {
  const curve = percentileCurve(latencyHdr(seededRandom(1), 3));
  assert.ok(curve.length > 10);
  for (let i = 1; i < curve.length; i++) assert.ok(curve[i]!.valueMs >= curve[i - 1]!.valueMs);
  const p50 = curve.find((p) => p.percentile === 50)!.valueMs;
  assert.ok(p50 > 2 && p50 < 4.5, `p50 ${p50} ms near 3 ms`);
  assert.deepEqual(percentileCurve(''), []);
  assert.deepEqual(percentileCurve('not base64 histogram'), []);
});

test('report model: runs ordered by time, trends, latency, scaling by workers, anchors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-report-model-'));
  const files = fixtureRuns(dir).reverse();
  const model = buildReportModel(files.map((source) => ({ source, file: JSON.parse(readFileSync(source, 'utf8')) })));
  assert.deepEqual(model.runs.map((r) => r.startedAt.slice(0, 10)), ['2026-01-01', '2026-01-02', '2026-01-03']);
  assert.equal(model.trends.length, 6);
  assert.equal(model.latency.length, 1);
  assert.equal(model.latency[0]!.curves.length, 3);
  assert.equal(model.scaling.length, 1);
  assert.deepEqual(model.scaling[0]!.points.map((p) => p.workers), [1, 2, 4]);
  assert.equal(model.anchors.length, 2);
  assert.equal(model.timeSeries.length, 1);
  assert.equal(model.capacity.length, 1);
  const curve = model.capacity[0]!;
  assert.equal(curve.id, 'load/send/open/p50');
  assert.deepEqual(curve.steps.map((s) => s.offered), [50, 100, 200, 283, 283, 300, 308, 336, 354, 400], 'steps ordered by offered rate');
  assert.deepEqual(curve.steps.filter((s) => s.passed).map((s) => s.offered), [50, 100, 200, 283, 283, 300]);
  assert.equal(curve.steps.find((s) => s.offered === 400)!.p99Ms, null, 'a step with no success has no p99');
  const series = model.timeSeries[0]!;
  assert.equal(series.id, 'load/send/open/p50');
  assert.deepEqual(series.t, [0, 1, 2, 3, 4]);
  assert.deepEqual(series.offered, [100, 100, 100, 100, 100]);
  assert.deepEqual(Object.keys(series.errors), ['131056']);
  assert.deepEqual(series.errors['131056']!.map((n) => n > 0), [false, false, true, true, false]);
  // 20 ms user CPU per second over the second's answers.
  assert.equal(series.cpuUserUs![0], 200);
  rmSync(dir, { recursive: true, force: true });
});

test('report HTML opens in headless Chromium: every chart rendered, no errors, no network', async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium); this test does not skip`);
  const dir = mkdtempSync(join(tmpdir(), 'sigload-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  fixtureRuns(dir);
  writeFileSync(join(dir, 'not-a-result.json'), '{"customBiggerIsBetter": []}'); // folders may hold exports too
  const out = join(dir, 'report.html');
  t.mock.method(console, 'log', () => {});
  assert.equal(reportMain([dir, '--out', out]), 0);
  const html = readFileSync(out, 'utf8');
  assert.doesNotMatch(html, /<script[^>]+src=/i, 'no external scripts');
  assert.doesNotMatch(html, /https?:\/\/cdn/i, 'no CDN');

  const context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  t.after(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (req) => {
    if (!/^(file|data|about|blob):/.test(req.url())) problems.push(`network request: ${req.url()}`);
  });
  await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
  await page.waitForFunction(() => (globalThis as unknown as { sigloadReport?: unknown }).sigloadReport !== undefined, undefined, { timeout: 15000 });
  const state = await page.evaluate(() => {
    const g = globalThis as unknown as { sigloadReport: { charts: number; canvases: number }; document: any; Chart: any };
    const canvases = [...g.document.querySelectorAll('canvas')] as any[];
    return {
      ...g.sigloadReport,
      registered: canvases.filter((c) => g.Chart.getChart(c) !== undefined).length,
      blank: canvases
        .filter((c) => {
          const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data as Uint8ClampedArray;
          for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return false;
          return true;
        })
        .map((c) => c.dataset.chartTitle as string),
      sizes: canvases.map((c) => c.width * c.height),
      compareRows: g.document.querySelectorAll('#compare ~ table tbody tr').length,
    };
  });
  // 1 anchors + 6 trends + 1 latency + 1 scaling + 4 time series (throughput, p99, errors, server CPU) + 1 capacity curve
  assert.equal(state.charts, 14);
  assert.equal(state.canvases, 14);
  assert.equal(state.registered, 14);
  assert.deepEqual(state.blank, [], 'blank canvases');
  assert.ok(state.sizes.every((s) => s > 0));
  assert.ok(state.compareRows >= 6, 'compare table rendered');
  assert.deepEqual(problems, []);
});

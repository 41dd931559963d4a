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
  // 1 anchors + 6 trends + 1 latency + 1 scaling
  assert.equal(state.charts, 9);
  assert.equal(state.canvases, 9);
  assert.equal(state.registered, 9);
  assert.deepEqual(state.blank, [], 'blank canvases');
  assert.ok(state.sizes.every((s) => s > 0));
  assert.ok(state.compareRows >= 6, 'compare table rendered');
  assert.deepEqual(problems, []);
});

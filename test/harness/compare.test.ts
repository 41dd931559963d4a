import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareResults, compareSeries, CompareError } from '../../src/harness/statistics/compare.js';
import { formatComparison, formatSeries } from '../../src/harness/statistics/compare-format.js';
import { noisySamples, seededRandom, syntheticResult, type SyntheticBenchmark } from '../../src/harness/statistics/compare-synthetic.js';
import { main as compareMain } from '../../scripts/compare.js';

const IDS = ['signal/a', 'signal/b', 'signal/c', 'server/d', 'server/e', 'store/f'];

function run(random: () => number, opts: { slow?: string; cv?: number; n?: number; drift?: number; commit?: string } = {}): ReturnType<typeof syntheticResult> {
  const drift = (opts.drift ?? 0) * (2 * random() - 1); // shared run-level shift, uniform ±drift
  const benchmarks: SyntheticBenchmark[] = IDS.map((id, i) => {
    const median = 1000 * (i + 1);
    const samples = noisySamples({ n: opts.n ?? 10, median: id === opts.slow ? median / 1.1 : median, cv: opts.cv ?? 0.02, random, runOffset: drift });
    return { id, samples };
  });
  return syntheticResult({ benchmarks, commit: opts.commit ?? 'c0ffee' });
}

test('synthetic A/A: no regression flagged in at least 95% of 300 trials (seeded)', () => {
  const random = seededRandom(42);
  let flagged = 0;
  const trials = 300;
  for (let t = 0; t < trials; t++) if (compareResults(run(random, { drift: 0.01 }), run(random, { drift: 0.01 })).regressed) flagged++;
  assert.ok(flagged / trials <= 0.05, `A/A false-positive rate ${flagged}/${trials}`);
});

test('synthetic 10% slowdown of one benchmark flagged in at least 95% of 300 trials (seeded)', () => {
  const random = seededRandom(7);
  let caught = 0;
  let wrongOne = 0;
  const trials = 300;
  for (let t = 0; t < trials; t++) {
    const c = compareResults(run(random, { drift: 0.01 }), run(random, { drift: 0.01, slow: 'signal/b' }));
    if (c.rows.find((r) => r.id === 'signal/b')!.verdict === 'regressed') caught++;
    if (c.rows.some((r) => r.id !== 'signal/b' && r.verdict === 'regressed')) wrongOne++;
  }
  assert.ok(caught / trials >= 0.95, `true-positive rate ${caught}/${trials}`);
  assert.ok(wrongOne / trials <= 0.05, `other benchmarks flagged ${wrongOne}/${trials}`);
});

test('the gate can fail: a naive setting (no floor, no correction) flags A/A drift', () => {
  const random = seededRandom(3);
  let flagged = 0;
  for (let t = 0; t < 100; t++) {
    const c = compareResults(run(random, { drift: 0.03 }), run(random, { drift: 0.03 }), { minChangePct: 0, noiseMultiplier: 0, correction: 'none' });
    if (c.regressed) flagged++;
  }
  assert.ok(flagged > 20, `naive gate should false-alarm often on 3% drift, got ${flagged}/100`);
});

test('lower-is-better: a latency increase is a regression, a decrease an improvement', () => {
  const base = syntheticResult({ benchmarks: [{ id: 'lat/up', unit: 'ms', better: 'lower', samples: [10, 10.1, 9.9, 10.2, 9.8, 10, 10.05, 9.95, 10.1, 9.9] }, { id: 'lat/down', unit: 'ms', better: 'lower', samples: [10, 10.1, 9.9, 10.2, 9.8, 10, 10.05, 9.95, 10.1, 9.9] }] });
  const head = syntheticResult({
    benchmarks: [
      { id: 'lat/up', unit: 'ms', better: 'lower', samples: base.benchmarks[0]!.samples.map((x) => x * 1.2) },
      { id: 'lat/down', unit: 'ms', better: 'lower', samples: base.benchmarks[1]!.samples.map((x) => x * 0.8) },
    ],
  });
  const c = compareResults(base, head);
  assert.equal(c.rows.find((r) => r.id === 'lat/up')!.verdict, 'regressed');
  assert.equal(c.rows.find((r) => r.id === 'lat/down')!.verdict, 'improved');
  assert.equal(c.familySize, 2);
  const up = c.rows.find((r) => r.id === 'lat/up')!;
  assert.ok(Math.abs(up.changePct! - 20) < 1e-9);
  assert.ok(up.pAdjusted! < 0.05 && up.p! <= up.pAdjusted!);
});

test('missing, unit, direction, noisy, unclean, too-few and environment are said plainly and do not gate', () => {
  const ten = [100, 101, 99, 102, 98, 100, 101, 99, 100, 100.5];
  const base = syntheticResult({
    benchmarks: [
      { id: 'gone', samples: ten },
      { id: 'unit', samples: ten, unit: 'ops/s' },
      { id: 'dir', samples: ten, better: 'higher' },
      { id: 'noisy', samples: [50, 150, 80, 120, 100, 60, 140, 100, 90, 110] },
      { id: 'dirty', samples: ten },
      { id: 'few', samples: [100, 101, 99] },
    ],
    cpuModel: 'CPU A',
    nodeVersion: 'v20.20.2',
  });
  const head = syntheticResult({
    benchmarks: [
      { id: 'new', samples: ten },
      { id: 'unit', samples: ten, unit: 'msgs/s' },
      { id: 'dir', samples: ten, better: 'lower' },
      { id: 'noisy', samples: [25, 75, 40, 60, 50, 30, 70, 50, 45, 55] },
      { id: 'dirty', samples: ten.map((x) => x / 2), clean: false },
      { id: 'few', samples: [50, 51, 49] },
    ],
    cpuModel: 'CPU B',
    nodeVersion: 'v22.1.0',
    cores: 8,
  });
  const c = compareResults(base, head);
  const verdict = (id: string): string => c.rows.find((r) => r.id === id)!.verdict;
  assert.equal(verdict('gone'), 'only-in-base');
  assert.equal(verdict('new'), 'only-in-head');
  assert.equal(verdict('unit'), 'unit-differs');
  assert.equal(verdict('dir'), 'direction-differs');
  assert.equal(verdict('noisy'), 'too-noisy');
  assert.equal(verdict('dirty'), 'not-clean');
  assert.equal(verdict('few'), 'too-few-samples');
  assert.equal(c.regressed, false);
  assert.deepEqual(c.environment.map((d) => d.field).sort(), ['CPU cores', 'CPU model', 'Node version']);
  const md = formatComparison(c, 'md');
  assert.match(md, /CPU model/);
  assert.match(md, /too noisy/);
  assert.match(formatComparison(c, 'table'), /only in base/);
  assert.doesNotThrow(() => JSON.parse(formatComparison(c, 'json')));
});

test('a test-only injected slowdown is judged although the runner marks it unclean', () => {
  const random = seededRandom(11);
  const base = run(random);
  const head = run(random, { slow: 'signal/c' });
  const marked = syntheticResult({
    benchmarks: head.benchmarks.map((b) => ({ id: b.id, samples: b.samples, clean: b.id !== 'signal/c' })),
    injected: { pattern: 'signal/c', fraction: 0.1 },
  });
  const c = compareResults(base, marked);
  const row = c.rows.find((r) => r.id === 'signal/c')!;
  assert.equal(row.verdict, 'regressed');
  assert.match(row.notes.join(' '), /injected/);
});

test('series: steps and first-vs-last gate', () => {
  const random = seededRandom(5);
  const files = [run(random, { commit: 'a1' }), run(random, { commit: 'b2' }), run(random, { commit: 'c3', slow: 'server/d' })];
  const s = compareSeries(files);
  assert.equal(s.steps.length, 2);
  const d = s.rows.find((r) => r.id === 'server/d')!;
  assert.deepEqual(d.steps, ['unchanged', 'regressed']);
  assert.equal(d.overall.verdict, 'regressed');
  assert.equal(s.regressed, true);
  assert.equal(d.medians.length, 3);
  assert.match(formatSeries(s, 'table'), /unchanged → REGRESSED/);
  assert.throws(() => compareSeries([files[0]!]), (e: unknown) => e instanceof CompareError && e.kind === 'too-few-files');
  assert.throws(() => compareResults(files[0]!, files[1]!, { alpha: 2 }), (e: unknown) => e instanceof CompareError && e.kind === 'bad-option');
});

test('compare CLI exit codes: 0 no regression, 1 regression, 2 bad input', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-compare-'));
  const random = seededRandom(9);
  const write = (name: string, value: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
    return path;
  };
  const a = write('a.json', run(random));
  const b = write('b.json', run(random));
  const slow = write('slow.json', run(random, { slow: 'signal/a' }));
  const broken = write('broken.json', '{ nope');
  const invalid = write('invalid.json', { schema_version: 1, run: {} });
  const errors: string[] = [];
  t.mock.method(console, 'error', (...args: unknown[]) => void errors.push(args.join(' ')));
  t.mock.method(process.stdout, 'write', () => true);
  assert.equal(compareMain([a, b]), 0);
  assert.equal(compareMain([a, slow, '--format', 'md']), 1);
  assert.equal(compareMain([a, b, slow, '--format', 'json']), 1);
  assert.equal(compareMain([a, join(dir, 'absent.json')]), 2);
  assert.match(errors.join('\n'), /absent\.json/);
  assert.equal(compareMain([a, broken]), 2);
  assert.match(errors.join('\n'), /not valid JSON/);
  assert.equal(compareMain([a, invalid]), 2);
  assert.match(errors.join('\n'), /does not match/);
  assert.equal(compareMain([a]), 2);
  assert.equal(compareMain([a, b, '--format', 'xml']), 2);
  assert.equal(compareMain([a, b, '--alpha', 'x']), 2);
  assert.equal(compareMain([a, b, '--alpha', '3']), 2);
  assert.equal(compareMain([a, b, '--bogus']), 2);
});

test('differing params and failed head checks are said plainly', () => {
  const ten = [100, 101, 99, 102, 98, 100, 101, 99, 100, 100.5];
  const base = syntheticResult({ benchmarks: [{ id: 'p', samples: ten, params: { size: 160 } }] });
  const head = syntheticResult({ benchmarks: [{ id: 'p', samples: ten, params: { size: 256 } }] });
  head.checks.push({ id: 'retention/30-days', passed: false, detail: '3 messages older than 30 days' });
  const c = compareResults(base, head);
  assert.match(c.rows[0]!.notes.join(' '), /params differ/);
  assert.deepEqual(c.failedChecks, [{ id: 'retention/30-days', detail: '3 messages older than 30 days' }]);
  assert.match(formatComparison(c, 'md'), /failed checks/);
  assert.match(formatComparison(c, 'table'), /FAILED check retention\/30-days/);
});

test('pooling interleaved runs concatenates repetitions and re-summarises', async () => {
  const { mergeRuns } = await import('../../src/harness/statistics/compare-merge.js');
  const r1 = syntheticResult({ benchmarks: [{ id: 'x', samples: [1, 2, 3] }, { id: 'only1', samples: [5, 5, 5] }], startedAt: '2026-01-01T00:00:00Z' });
  const r2 = syntheticResult({ benchmarks: [{ id: 'x', samples: [4, 5], clean: false }], startedAt: '2026-01-01T01:00:00Z' });
  const m = mergeRuns([r1, r2]);
  const x = m.benchmarks.find((b) => b.id === 'x')!;
  assert.deepEqual(x.samples, [1, 2, 3, 4, 5]);
  assert.equal(x.summary.n, 5);
  assert.equal(x.summary.median, 3);
  assert.equal(x.quality.clean, false);
  assert.equal(m.benchmarks.length, 2);
  assert.equal(m.run.finished_at, r2.run.finished_at);
  assert.throws(() => mergeRuns([]), /no runs/);
});

test('folders of result files are read in run order, other JSON refused unless asked to skip', async () => {
  const { loadResultInputs } = await import('../../src/harness/statistics/compare-input.js');
  const dir = mkdtempSync(join(tmpdir(), 'sigload-inputs-'));
  writeFileSync(join(dir, 'b.json'), JSON.stringify(syntheticResult({ benchmarks: [{ id: 'x', samples: [1] }], startedAt: '2026-01-01T00:00:00Z', runId: 'early' })));
  writeFileSync(join(dir, 'a.json'), JSON.stringify(syntheticResult({ benchmarks: [{ id: 'x', samples: [1] }], startedAt: '2026-01-02T00:00:00Z', runId: 'late' })));
  assert.deepEqual(loadResultInputs([dir]).map((l) => l.file.run.id), ['early', 'late']);
  writeFileSync(join(dir, 'bmf.json'), '{}');
  assert.throws(() => loadResultInputs([dir]), /does not match/);
  assert.equal(loadResultInputs([dir], { skipInvalidInFolders: true }).length, 2);
});

test('gate-calibration re-analyses saved cycles and reports rates with Wilson intervals', async (t) => {
  const { main: calibrate, wilson } = await import('../../scripts/gate-calibration.js');
  const w = wilson(0, 39);
  assert.equal(w.rate, 0);
  assert.ok(Math.abs(w.wilson95[1] - 0.0899) < 0.001, `Wilson upper ${w.wilson95[1]}`);
  const dir = mkdtempSync(join(tmpdir(), 'sigload-calibration-'));
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'runs'));
  const random = seededRandom(99);
  for (let i = 0; i < 4; i++) {
    writeFileSync(join(dir, 'runs', `${i}-a.json`), JSON.stringify(run(random)));
    const slowed = run(random, { slow: 'signal/b' });
    writeFileSync(join(dir, 'runs', `${i}-b.json`), JSON.stringify(syntheticResult({ benchmarks: slowed.benchmarks.map((b) => ({ id: b.id, samples: b.samples, clean: b.id !== 'signal/b' })), injected: { pattern: 'signal/b', fraction: 0.1 } })));
    writeFileSync(join(dir, 'runs', `${i}-a2.json`), JSON.stringify(run(random)));
  }
  t.mock.method(console, 'log', () => {});
  t.mock.method(console, 'error', () => {});
  t.mock.method(process.stderr, 'write', () => true);
  const out = join(dir, 'out');
  const code = await calibrate(['--from', dir, '--out-dir', out, '--filter', IDS.join(','), '--inject', 'signal/b']);
  const report = JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8'));
  assert.equal(report.cycles, 4);
  assert.equal(report.aa.trials, 4);
  assert.equal(report.aa.hits, 0);
  assert.equal(report.injected.hits, 4);
  assert.equal(report.aa_all_pairs.trials, 28); // C(8, 2)
  assert.equal(code, 0);
});

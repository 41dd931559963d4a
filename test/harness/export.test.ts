import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureSlug, toBencherMetricFormat, toGithubActionBenchmark } from '../../src/harness/report/export.js';
import { syntheticResult } from '../../src/harness/statistics/compare-synthetic.js';
import { main as exportMain } from '../../scripts/export.js';

const result = syntheticResult({
  commit: 'abcdef0123456789',
  benchmarks: [
    { id: 'signal/encrypt', unit: 'ops/s', better: 'higher', samples: [100, 102, 98, 101, 99, 100, 103, 97, 100, 100] },
    { id: 'server/send', unit: 'ms', better: 'lower', samples: [5, 5.1, 4.9, 5, 5.2, 4.8, 5, 5, 5.1, 4.9] },
    { id: 'store/heap', unit: 'bytes', better: 'lower', samples: [1000, 1000, 1001] },
  ],
});

test('github-action-benchmark: split by better, value is the median, range and extra present', () => {
  const gab = toGithubActionBenchmark(result);
  assert.deepEqual(gab.customBiggerIsBetter.map((e) => e.name), ['signal/encrypt']);
  assert.deepEqual(gab.customSmallerIsBetter.map((e) => e.name), ['server/send', 'store/heap']);
  const e = gab.customBiggerIsBetter[0]!;
  assert.equal(e.unit, 'ops/s');
  assert.equal(e.value, 100);
  assert.match(e.range!, /^± [0-9.]+$/);
  assert.match(e.extra!, /median of 10 repetitions/);
  for (const entry of [...gab.customBiggerIsBetter, ...gab.customSmallerIsBetter]) {
    assert.deepEqual(Object.keys(entry).sort(), ['extra', 'name', 'range', 'unit', 'value']);
    assert.equal(typeof entry.value, 'number');
  }
});

test('Bencher Metric Format: benchmark -> measure slug -> value with CI bounds', () => {
  const bmf = toBencherMetricFormat(result);
  assert.deepEqual(Object.keys(bmf), ['signal/encrypt', 'server/send', 'store/heap']);
  const m = bmf['signal/encrypt']!['throughput']!;
  assert.equal(m.value, 100);
  assert.ok(m.lower_value! <= m.value && m.value <= m.upper_value!);
  assert.ok(bmf['server/send']!['ms']);
  assert.equal(measureSlug('msgs/s'), 'msgs-per-s');
  assert.equal(measureSlug('ops/s'), 'throughput');
  assert.equal(measureSlug('µs'), 'us');
  assert.equal(measureSlug('%'), 'percent');
});

test('export CLI writes files and refuses bad input with exit 2', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-export-'));
  const input = join(dir, 'r.json');
  writeFileSync(input, JSON.stringify(result));
  t.mock.method(console, 'error', () => {});
  assert.equal(exportMain(['--format', 'bmf', input, '--out', join(dir, 'bmf.json')]), 0);
  assert.equal(JSON.parse(readFileSync(join(dir, 'bmf.json'), 'utf8'))['store/heap'].bytes.value, 1000);
  assert.equal(exportMain(['--format', 'gab', input, '--out-dir', join(dir, 'gab')]), 0);
  assert.equal(JSON.parse(readFileSync(join(dir, 'gab', 'customSmallerIsBetter.json'), 'utf8')).length, 2);
  assert.equal(exportMain(['--format', 'csv', input]), 2);
  assert.equal(exportMain(['--format', 'gab', join(dir, 'missing.json')]), 2);
  assert.equal(exportMain(['--format', 'gab']), 2);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticResult } from '../../src/harness/statistics/compare-synthetic.js';
import { evaluateThresholds, readThresholdsFile, ThresholdsError } from '../../src/harness/result/thresholds.js';
import type { ResultFile } from '../../src/harness/result/result.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NIGHTLY = join(ROOT, 'dist', 'scripts', 'nightly.js');
const BENCH = join(ROOT, 'dist', 'scripts', 'bench.js');

/** A result with a clean and an unclean benchmark (one with a latency histogram) and a clean anchor. */
function result(): ResultFile {
  const r = syntheticResult({
    benchmarks: [
      { id: 'load/x/capacity-at-p99-50ms', unit: 'req/s', samples: [100, 110, 120] },
      { id: 'load/x/unclean', unit: 'req/s', samples: [5, 5, 5], clean: false },
      {
        id: 'load/x/latency',
        unit: 'ms',
        better: 'lower',
        samples: [9, 10, 11],
        latency: { unit: 'ms', p50: 3, p90: 6, p99: 12, p999: 20, max: 25, hdr_base64: '' },
      },
    ],
  });
  r.anchors.push({ id: 'server-cpu-per-send-vs-bare', ratio: 8, ours: 190, theirs: 23.75, unit: 'µs/request', goal: { op: '<=', value: 3 }, met: false, quality: { clean: true, notes: [] } });
  return r;
}

function cli(script: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, GITHUB_STEP_SUMMARY: '' } });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('thresholds through the CLI (npm run nightly --head): pass 0, fail 3, missing 3, not clean 3; bad file 2', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-thresholds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const head = join(dir, 'head.json');
  writeFileSync(head, JSON.stringify(result()));
  const run = (name: string, thresholds: unknown): { status: number | null; out: string } => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, typeof thresholds === 'string' ? thresholds : JSON.stringify(thresholds));
    return cli(NIGHTLY, ['--head', head, '--out-dir', join(dir, `out-${name}`), '--thresholds', file]);
  };
  const pass = run('pass', {
    thresholds: [
      { id: 'load/x/capacity-at-p99-50ms', op: '>=', value: 100 },
      { id: 'load/x/latency', stat: 'p99', op: '<', value: 50 },
      { id: 'server-cpu-per-send-vs-bare', op: '<=', value: 10 },
    ],
  });
  assert.equal(pass.status, 0, pass.out);
  assert.match(pass.out, /thresholds: 3\/3 hold/);
  assert.match(pass.out, /pass\s+load\/x\/capacity-at-p99-50ms >= 100: 110 req\/s/);
  assert.match(pass.out, /pass\s+load\/x\/latency p99 < 50: 12 ms/);

  const fail = run('fail', { thresholds: [{ id: 'load/x/capacity-at-p99-50ms', op: '>=', value: 100 }, { id: 'server-cpu-per-send-vs-bare', op: '<=', value: 3 }] });
  assert.equal(fail.status, 3, fail.out);
  assert.match(fail.out, /FAIL\s+server-cpu-per-send-vs-bare <= 3: 8 ×/);

  const missing = run('missing', { thresholds: [{ id: 'load/nope', op: '>', value: 1 }] });
  assert.equal(missing.status, 3, missing.out);
  assert.match(missing.out, /MISSING\s+load\/nope/);

  const noPercentile = run('no-percentile', { thresholds: [{ id: 'load/x/capacity-at-p99-50ms', stat: 'p99', op: '<', value: 1000 }] });
  assert.equal(noPercentile.status, 3, noPercentile.out);
  assert.match(noPercentile.out, /MISSING/);

  const unclean = run('unclean', { thresholds: [{ id: 'load/x/unclean', op: '>=', value: 1 }] });
  assert.equal(unclean.status, 3, unclean.out);
  assert.match(unclean.out, /UNCLEAN\s+load\/x\/unclean >= 1: 5 req\/s \(not clean: synthetic: marked unclean\)/);

  for (const [name, bad, expected] of [
    ['bad-op', { thresholds: [{ id: 'a', op: '==', value: 1 }] }, /\/thresholds\/0\/op: expected one of/],
    ['bad-json', '{"thresholds": [', /not valid JSON/],
    ['bad-stat', { thresholds: [{ id: 'a', kind: 'anchor', stat: 'p99', op: '<', value: 1 }] }, /stat p99 does not apply to a anchor/],
    ['empty', { thresholds: [] }, /\/thresholds: must NOT have fewer than 1 items/],
  ] as const) {
    const r = run(name, bad);
    assert.equal(r.status, 2, `${name}: ${r.out}`);
    assert.match(r.out, expected, name);
  }
  // npm run bench reads the file before running anything: a bad one exits 2 at once.
  const benchBad = cli(BENCH, ['--list', '--thresholds', join(dir, 'bad-op.json')]);
  assert.equal(benchBad.status, 2, benchBad.out);
  assert.match(benchBad.out, /does not match results\/thresholds\.schema\.json/);
  const benchMissing = cli(BENCH, ['--list', '--thresholds', join(dir, 'does-not-exist.json')]);
  assert.equal(benchMissing.status, 2, benchMissing.out);
});

test('thresholds: an anchor without quality is not clean; stats of samples and anchors', () => {
  const r = result();
  r.anchors.push({ id: 'old-anchor', ratio: 2, ours: 2, theirs: 1, unit: 'x' });
  const [minOk, maxFail, old, theirs] = evaluateThresholds(r, {
    thresholds: [
      { id: 'load/x/capacity-at-p99-50ms', stat: 'min', op: '>=', value: 100 },
      { id: 'load/x/capacity-at-p99-50ms', stat: 'max', op: '<', value: 120 },
      { id: 'old-anchor', op: '>', value: 1 },
      { id: 'server-cpu-per-send-vs-bare', stat: 'theirs', op: '<', value: 30 },
    ],
  });
  assert.equal(minOk!.verdict, 'pass');
  assert.equal(maxFail!.verdict, 'fail');
  assert.equal(old!.verdict, 'unclean');
  assert.equal(theirs!.verdict, 'pass');
  assert.equal(theirs!.figure, 23.75);
});

test('the checked-in nightly thresholds file is valid', () => {
  const file = readThresholdsFile(join(ROOT, 'bench', 'thresholds', 'nightly.json'));
  assert.ok(file.thresholds.length > 0);
  assert.throws(() => readThresholdsFile(join(ROOT, 'nope.json')), ThresholdsError);
});

/**
 * `npm run merge` (src/harness/load/shard-merge.ts, scripts/merge.ts): histograms and time series
 * merge exactly, counts and errors by code add up, mismatched/duplicate/missing shards are refused
 * with exit 2, and a threshold that every shard passes but the whole run fails gives exit 3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { bucketCounts, createLatencyHistogram, latencyDistribution, latencyPercentilesMs, recordLatencyMs } from '../../src/harness/load/histogram.js';
import { TimeSeriesRecorder, mergeIntervalHistograms } from '../../src/harness/load/time-series.js';
import { buildSchedule, shapeSpec } from '../../src/harness/load/schedule.js';
import { shardSchedule, type Shard } from '../../src/harness/load/shard.js';
import type { LoadResultFile } from '../../src/harness/load/load-result-file.js';
import { loadFigures, mergeShardResults, ShardMergeError, LOAD_FIGURE_IDS } from '../../src/harness/load/shard-merge.js';
import { evaluateThresholds, thresholdsHold, THRESHOLDS_FAILED_EXIT } from '../../src/harness/result/thresholds.js';

const MERGE = fileURLToPath(new URL('../../scripts/merge.js', import.meta.url));
const START_AT = 1_796_310_000_000;

/** A deterministic latency (ms) for request j: mostly small, a heavy tail. */
function latencyOf(j: number): number {
  const u = ((j * 2654435761) % 4294967296) / 4294967296;
  return u < 0.9 ? 1 + 20 * u : 50 + 3000 * (u - 0.9);
}

/** Request j fails with a Graph code for a few j (to check errors by code add up). */
const failureOf = (j: number): string | undefined => (j % 97 === 5 ? '131056' : j % 211 === 7 ? 'timeout' : undefined);

const SPEC = shapeSpec('ramp', 300, 6);

/** The result file a generator of `shard` writes for the synthetic run (what `npm run load --out` holds). */
function shardFile(shard: Shard, options: { startAtMs?: number; clean?: boolean; spec?: typeof SPEC; latency?: (j: number) => number; duration?: number } = {}): LoadResultFile {
  const spec = options.spec ?? SPEC;
  const schedule = buildSchedule(spec);
  const own = shardSchedule(schedule, schedule.count, shard);
  const histogram = createLatencyHistogram();
  const series = new TimeSeriesRecorder(1000);
  const counts = { sent: 0, completed: 0, errors: 0, timeouts: 0, non2xx: 0 };
  const errors: Record<string, number> = {};
  for (let k = 0; k < own.count; k++) {
    const j = own.globalIndex(k);
    const due = own.offsetMs(k);
    counts.sent++;
    series.sent(due);
    const failure = failureOf(j);
    if (failure === 'timeout') {
      counts.timeouts++;
      counts.errors++;
    } else {
      const latency = (options.latency ?? latencyOf)(j);
      counts.completed++;
      recordLatencyMs(histogram, latency);
      series.answered(due, due + latency, latency);
      if (failure) counts.non2xx++;
    }
    if (failure) {
      series.failed(due, failure);
      errors[failure] = (errors[failure] ?? 0) + 1;
    }
  }
  const latency = latencyDistribution(histogram);
  histogram.destroy();
  const duration = options.duration ?? 6.5;
  const clean = options.clean ?? true;
  return {
    latency_ms: { p50: latency.p50, p90: latency.p90, p99: latency.p99, p999: latency.p999, max: latency.max },
    requests: counts,
    offered_rate_per_s: Math.round((own.count / 6) * 100) / 100,
    completed_rate_per_s: Math.round((counts.completed / duration) * 100) / 100,
    duration_s: duration,
    connections: 8,
    dispatch_lag_ms: { p99: 1 + shard.index, max: 3 + shard.index },
    generator: { wall_ms: 6500, cpu_ms: 400, cpu_cores: 0.06, main_thread_elu: 0.1, saturated: false },
    quality: clean ? { clean: true, notes: [] } : { clean: false, notes: ['generator saturated'] },
    schedule: buildSchedule(spec).spec,
    shard: { index: shard.index, count: shard.count, start_at_ms: options.startAtMs ?? START_AT },
    errors_by_code: errors,
    latency,
    time_series: series.finish(6500),
    environment: { host: `gen-${shard.index}` } as unknown as LoadResultFile['environment'] & object,
  };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-merge-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function runMerge(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MERGE, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('merge: three shards\' histograms add up exactly to one histogram fed every request', () => {
  const n = 3;
  const parts = Array.from({ length: n }, (_, i) => ({ path: `s${i}.json`, file: shardFile({ index: i, count: n }) }));
  const merged = mergeShardResults(parts);
  const schedule = buildSchedule(SPEC);
  const single = createLatencyHistogram();
  let completed = 0;
  for (let j = 0; j < schedule.count; j++) {
    if (failureOf(j) === 'timeout') continue;
    recordLatencyMs(single, latencyOf(j));
    completed++;
  }
  const decoded = hdr.decodeFromCompressedBase64(merged.latency.hdr_base64, 32, false);
  assert.deepEqual(bucketCounts(decoded), bucketCounts(single), 'bucket for bucket');
  assert.deepEqual(merged.latency_ms, latencyPercentilesMs(single));
  assert.equal(decoded.totalCount, completed);
  decoded.destroy();
  single.destroy();
  // Counts and errors by code are sums; the schedule's requests are all there, once.
  assert.equal(merged.requests.sent, schedule.count);
  assert.equal(merged.offered_rate_per_s, Math.round((schedule.count / 6) * 100) / 100, 'the schedule\'s requests over its 6 s');
  assert.equal(merged.requests.completed, completed);
  const failures = Array.from({ length: schedule.count }, (_, j) => failureOf(j)).filter((f) => f !== undefined);
  assert.deepEqual(merged.errors_by_code, { '131056': failures.filter((f) => f === '131056').length, timeout: failures.filter((f) => f === 'timeout').length });
  assert.equal(merged.requests.timeouts, merged.errors_by_code['timeout']);
  assert.equal(merged.requests.non2xx, merged.errors_by_code['131056']);
  // Every shard's environment and generator is kept, in shard order; lag is the worst shard's.
  assert.deepEqual(merged.environments, [{ host: 'gen-0' }, { host: 'gen-1' }, { host: 'gen-2' }]);
  assert.equal(merged.generators?.length, 3);
  assert.deepEqual(merged.shards?.map((s) => s.index), [0, 1, 2]);
  assert.deepEqual(merged.dispatch_lag_ms, { p99: 3, max: 5 });
  assert.equal(merged.quality.clean, true);
});

test('merge: the per-second series merge interval by interval into the single run\'s', () => {
  const n = 2;
  const merged = mergeShardResults([1, 0].map((i) => ({ path: `s${i}.json`, file: shardFile({ index: i, count: n }) })));
  const whole = shardFile({ index: 0, count: 1 });
  const a = merged.time_series!;
  const b = whole.time_series!;
  assert.equal(a.intervals.length, b.intervals.length);
  a.intervals.forEach((x, k) => {
    const y = b.intervals[k]!;
    assert.equal(x.sent, y.sent, `interval ${k} sent`);
    assert.equal(x.completed, y.completed, `interval ${k} completed`);
    assert.deepEqual(x.errors, y.errors, `interval ${k} errors`);
    assert.deepEqual(x.latency_ms, y.latency_ms, `interval ${k} percentiles`);
  });
  const fromIntervals = mergeIntervalHistograms(a);
  const fromWhole = mergeIntervalHistograms(b);
  assert.deepEqual(bucketCounts(fromIntervals), bucketCounts(fromWhole));
  fromIntervals.destroy();
  fromWhole.destroy();
});

test('merge: not clean when any shard was, or when the shards did not start at one instant', () => {
  const dirty = mergeShardResults([{ path: 'a', file: shardFile({ index: 0, count: 2 }) }, { path: 'b', file: shardFile({ index: 1, count: 2 }, { clean: false }) }]);
  assert.equal(dirty.quality.clean, false);
  assert.deepEqual(dirty.quality.notes, ['shard 1/2: generator saturated']);
  const apart = mergeShardResults([{ path: 'a', file: shardFile({ index: 0, count: 2 }) }, { path: 'b', file: shardFile({ index: 1, count: 2 }, { startAtMs: START_AT + 250 }) }]);
  assert.equal(apart.quality.clean, false);
  assert.match(apart.quality.notes.join(';'), /250 ms apart/);
});

test('merge: mismatched, duplicate and missing shards are refused, naming the file (exit 2, nothing written)', (t) => {
  const dir = tempDir(t);
  const write = (name: string, file: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, typeof file === 'string' ? file : JSON.stringify(file));
    return path;
  };
  const s0 = write('s0.json', shardFile({ index: 0, count: 2 }));
  const s1 = write('s1.json', shardFile({ index: 1, count: 2 }));
  const of3 = write('of3.json', shardFile({ index: 1, count: 3 }));
  const other = write('other.json', shardFile({ index: 1, count: 2 }, { spec: shapeSpec('constant', 300, 6) }));
  const { shard: _shard, ...unsharded } = shardFile({ index: 1, count: 2 });
  const plain = write('plain.json', unsharded);
  const garbage = write('garbage.json', '{"latency": 3');
  const out = join(dir, 'merged.json');
  const cases: [string[], RegExp, ShardMergeError['kind'] | undefined][] = [
    [[s0, s0], /s0\.json and .*s0\.json are both shard 0\/2/, 'duplicate-shard'],
    [[s0], /shard 1\/2 missing/, 'missing-shard'],
    [[s0, of3], /of3\.json is shard 1\/3/, 'count-mismatch'],
    [[s0, other], /other\.json ran schedule/, 'schedule-mismatch'],
    [[s0, plain], /plain\.json records no shard/, 'not-a-shard'],
    [[s0, garbage], /garbage\.json is not valid JSON/, undefined],
    [[s0, join(dir, 'absent.json')], /absent\.json cannot be read/, undefined],
    [[], /no shard files given/, undefined],
  ];
  for (const [files, message, kind] of cases) {
    const r = runMerge([...files, '--out', out]);
    assert.equal(r.status, 2, `${files.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.throws(() => readFileSync(out), 'a refused merge writes nothing');
    if (kind) {
      const parts = files.map((path) => ({ path, file: JSON.parse(readFileSync(path, 'utf8')) as LoadResultFile }));
      assert.throws(() => mergeShardResults(parts), (e: unknown) => e instanceof ShardMergeError && e.kind === kind);
    }
  }
  const ok = runMerge([s1, s0, '--out', out, '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  const printed = JSON.parse(ok.stdout) as LoadResultFile;
  // --json prints the shape npm run load -- --json prints, without the histograms.
  assert.deepEqual(Object.keys(printed.latency_ms), ['p50', 'p90', 'p99', 'p999', 'max']);
  assert.deepEqual(Object.keys(printed.requests), ['sent', 'completed', 'errors', 'timeouts', 'non2xx']);
  assert.equal(printed.requests.sent, buildSchedule(SPEC).count);
  assert.equal((printed as { latency?: unknown }).latency, undefined);
  const written = JSON.parse(readFileSync(out, 'utf8')) as LoadResultFile;
  assert.deepEqual(written.latency_ms, printed.latency_ms);
  assert.ok(written.latency.hdr_base64.length > 0);
  assert.deepEqual(written.merged_from, [s0, s1]);
});

test('merge: a limit of the whole run that every shard passes fails on the merged result (exit 3)', (t) => {
  const dir = tempDir(t);
  // Two shards of a constant 240 req/s for 6 s, every request answered 2xx in about 5 ms.
  const spec = shapeSpec('constant', 240, 6);
  const files = [0, 1].map((i) => {
    const file = shardFile({ index: i, count: 2 }, { spec, latency: () => 5, duration: 6 });
    file.requests.non2xx = 0;
    file.errors_by_code = {};
    return file;
  });
  const thresholds = {
    thresholds: [
      { id: LOAD_FIGURE_IDS.acceptedRate, op: '<=', value: 160, why: 'the number is limited to 160 accepted/s in all' },
      { id: LOAD_FIGURE_IDS.latency, stat: 'p99', op: '<', value: 50 },
    ],
  };
  for (const file of files) {
    const outcomes = evaluateThresholds(loadFigures(file), thresholds as never);
    assert.ok(thresholdsHold(outcomes), `each shard alone passes: ${JSON.stringify(outcomes.map((o) => [o.verdict, o.figure]))}`);
  }
  const paths = files.map((file, i) => {
    const path = join(dir, `s${i}.json`);
    writeFileSync(path, JSON.stringify(file));
    return path;
  });
  const tPath = join(dir, 'thresholds.json');
  writeFileSync(tPath, JSON.stringify(thresholds));
  const r = runMerge([...paths, '--thresholds', tPath]);
  assert.equal(r.status, THRESHOLDS_FAILED_EXIT, r.stderr);
  assert.match(r.stderr, /FAIL\s+load\/open-loop\/accepted-rate <= 160: 2\d\d(\.\d+)? req\/s/);
  assert.match(r.stderr, /pass\s+load\/open-loop\/latency-p99 p99 < 50/);
  // The same thresholds with the limit of the whole run above the merged rate hold: exit 0.
  writeFileSync(tPath, JSON.stringify({ thresholds: [{ id: LOAD_FIGURE_IDS.acceptedRate, op: '<=', value: 250 }] }));
  assert.equal(runMerge([...paths, '--thresholds', tPath]).status, 0);
  // A bad thresholds file is bad input: exit 2 before merging.
  writeFileSync(tPath, '{"thresholds": []}');
  assert.equal(runMerge([...paths, '--thresholds', tPath]).status, 2);
});

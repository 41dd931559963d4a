import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Suite } from '../../src/harness/suite/suite.js';
import { parseBenchArgs } from '../../src/harness/suite/options.js';
import { listIds, runBench, runStem } from '../../src/harness/suite/runner.js';
import { ProgressDisplay } from '../../src/harness/suite/progress.js';
import { validateResult, type RunInfoWithExtras } from '../../src/harness/result/schema.js';

function quietProgress(): { progress: ProgressDisplay; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { progress: new ProgressDisplay({ stream: stream as unknown as NodeJS.WriteStream, live: false }), text: () => text };
}

/** A one-interval load series, as the open-model driver stores it. */
const GOOD_SERIES = {
  interval_ms: 1000,
  intervals: [{ start_s: 0, duration_s: 1, sent: 3, completed: 3, errors: { '131056': 1 }, latency_ms: { p50: 3, p90: 3, p99: 3, max: 3 }, hdr_base64: '' }],
};

const good: Suite = {
  id: 'good',
  describe: 'records two benchmarks, an anchor and a passing check',
  benchmarkIds: () => ['good/a', 'good/b'],
  estimateSeconds: () => 1,
  async run(ctx) {
    ctx.progress(0.5, 'halfway');
    if (ctx.wants('good/a')) ctx.record({ id: 'good/a', suite: 'good', unit: 'ops/s', better: 'higher', params: { n: 1 }, samples: [1, 2, 3, 4, 5] });
    ctx.record({ id: 'good/b', suite: 'good', unit: 'ms', better: 'lower', params: {}, samples: [3, 3, 3], time_series: GOOD_SERIES });
    ctx.anchor({ id: 'good-anchor', ratio: 6, ours: 6, theirs: 1, unit: 'ops/s', goal: { op: '>=', value: 5 } });
    ctx.check({ id: 'good/invariant', passed: true, detail: 'fine' });
    ctx.note({ anchor_versions: { 'some-peer': '1.2.3' } });
  },
};

const throwing: Suite = {
  id: 'throwing',
  describe: 'throws after recording one benchmark',
  benchmarkIds: () => ['throwing/x'],
  estimateSeconds: () => 1,
  async run(ctx) {
    ctx.record({ id: 'throwing/x', suite: 'throwing', unit: 'ops/s', better: 'higher', params: {}, samples: [1, 1, 1] });
    throw new Error('boom');
  },
};

const duplicate: Suite = {
  id: 'duplicate',
  describe: 'records the same id twice',
  estimateSeconds: () => 1,
  async run(ctx) {
    ctx.record({ id: 'duplicate/x', suite: 'duplicate', unit: 'ops/s', better: 'higher', params: {}, samples: [1, 1, 1] });
    ctx.record({ id: 'duplicate/x', suite: 'duplicate', unit: 'ops/s', better: 'higher', params: {}, samples: [1, 1, 1] });
  },
};

test('runner: summaries, anchors, notes; a throwing suite is recorded and the run goes on', async () => {
  const { progress, text } = quietProgress();
  const options = parseBenchArgs(['--profile', 'smoke'], 2);
  const { result, failed } = await runBench({ options, suites: [good, throwing, duplicate], argv: ['--profile', 'smoke'], cores: 2, progress });
  assert.doesNotThrow(() => validateResult(result));
  assert.equal(failed, true);
  const run = result.run as RunInfoWithExtras;
  assert.deepEqual(run.failed_suites?.map((f) => f.suite), ['throwing', 'duplicate']);
  assert.match(run.failed_suites![0]!.error, /boom/);
  assert.match(run.failed_suites![1]!.error, /recorded twice/);
  const a = result.benchmarks.find((b) => b.id === 'good/a')!;
  assert.deepEqual([a.summary.n, a.summary.median, a.summary.ci95], [5, 3, [1, 5]]);
  assert.equal(a.quality.clean, true);
  // a figure's time series reaches the result file
  assert.deepEqual(result.benchmarks.find((b) => b.id === 'good/b')!.time_series, GOOD_SERIES);
  // what a suite recorded before it threw is kept
  assert.ok(result.benchmarks.some((b) => b.id === 'throwing/x'));
  assert.deepEqual(result.anchors, [{ id: 'good-anchor', ratio: 6, ours: 6, theirs: 1, unit: 'ops/s', goal: { op: '>=', value: 5 }, met: true }]);
  assert.equal(result.environment.anchor_versions['some-peer'], '1.2.3');
  assert.match(text(), /\[1\/3\] good: started/);
  assert.match(text(), /\[2\/3\] throwing: FAILED \(Error: boom\)/);
  assert.match(result.run.id, /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z-/);
});

test('runner: filters skip suites and ids; a failed check fails the run; slowdown marks benchmarks', async () => {
  const { progress } = quietProgress();
  const failing: Suite = {
    id: 'failing-check',
    describe: 'a failed invariant',
    benchmarkIds: () => ['failing-check/x'],
    estimateSeconds: () => 1,
    async run(ctx) {
      ctx.check({ id: 'failing-check/invariant', passed: false, detail: 'broken' });
    },
  };
  const options = parseBenchArgs(['--profile', 'quick', '--filter', 'good/a,failing'], 2);
  const { result, failed } = await runBench({ options, suites: [good, failing, throwing], argv: [], cores: 2, progress, slowdown: { pattern: 'good/a', fraction: 0.1 } });
  assert.equal(failed, true);
  assert.deepEqual(result.benchmarks.map((b) => b.id), ['good/a'], 'only ids passing the filter; the throwing suite never ran');
  assert.equal((result.run as RunInfoWithExtras).failed_suites, undefined);
  const a = result.benchmarks[0]!;
  assert.equal(a.quality.clean, false);
  assert.ok(a.quality.notes.some((n) => n.includes('injected slowdown')));
  assert.deepEqual((result.run as RunInfoWithExtras).injected_slowdown, { pattern: 'good/a', fraction: 0.1 });
  assert.deepEqual(listIds([good, failing, throwing], { ...options, settings: undefined as never, repetitions: 5, cores: 2, wants: (id) => /good\/a|failing/.test(id) }), ['good/a', 'failing-check/x']);
  assert.equal(runStem(new Date('2026-01-02T03:04:05.678Z'), 'abcdef0123456789'), '2026-01-02T03-04-05Z-abcdef012345');
});

test('runner: bad params and non-finite samples fail the suite, not the file', async () => {
  const { progress } = quietProgress();
  const bad: Suite = {
    id: 'bad',
    describe: 'bad shapes',
    estimateSeconds: () => 1,
    async run(ctx) {
      ctx.record({ id: 'bad/nan', suite: 'bad', unit: 'ops/s', better: 'higher', params: {}, samples: [1, Number.NaN, 2] });
    },
  };
  const badParams: Suite = {
    id: 'bad-params',
    describe: 'bad params',
    estimateSeconds: () => 1,
    async run(ctx) {
      ctx.record({ id: 'bad/params', suite: 'bad-params', unit: 'ops/s', better: 'higher', params: { nested: { x: 1 } as unknown as string }, samples: [1, 2, 3] });
    },
  };
  const { result } = await runBench({ options: parseBenchArgs(['--profile', 'smoke'], 2), suites: [bad, badParams], argv: [], cores: 2, progress });
  assert.doesNotThrow(() => validateResult(result));
  assert.equal(result.benchmarks.length, 0);
  const errors = (result.run as RunInfoWithExtras).failed_suites!.map((f) => f.error).join('\n');
  assert.match(errors, /not a finite number/);
  assert.match(errors, /param 'nested'/);
});

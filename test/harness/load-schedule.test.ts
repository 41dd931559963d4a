import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildSchedule,
  expectedArrivals,
  parseStages,
  shapeSpec,
  ScheduleError,
  MAX_SCHEDULE_SECONDS,
  SPIKE_FACTOR,
  type ArrivalSchedule,
  type ScheduleSpec,
} from '../../src/harness/load/schedule.js';
import { runOpenLoop } from '../../src/harness/load/open-loop-driver.js';

/** One-sample Kolmogorov–Smirnov statistic of `xs` against the CDF `cdf`. */
function ksStatistic(xs: readonly number[], cdf: (x: number) => number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const n = sorted.length;
  let d = 0;
  sorted.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  });
  return d;
}
/** Critical value of the KS statistic at α = 0.01 (asymptotic, n > 35). */
const ksCritical01 = (n: number): number => 1.628 / Math.sqrt(n);

const offsets = (s: ArrivalSchedule): number[] => Array.from({ length: s.count }, (_, j) => s.offsetMs(j));
const perSecond = (ms: readonly number[], seconds: number): number[] => {
  const counts = new Array<number>(seconds).fill(0);
  for (const t of ms) counts[Math.min(seconds - 1, Math.floor(t / 1000))]!++;
  return counts;
};

test('schedule: a constant rate is the driver\'s original schedule, j·1000/rate', () => {
  const s = buildSchedule({ startRate: 250, stages: [{ durationSeconds: 4, targetRate: 250 }] });
  assert.equal(s.count, 1000);
  for (const j of [0, 1, 2, 499, 999]) assert.ok(Math.abs(s.offsetMs(j) - j * 4) < 1e-9, `offset ${j}: ${s.offsetMs(j)}`);
});

test('schedule: a linear ramp 0 → 100 req/s over 10 s puts request j at √(j/5) s', () => {
  const s = buildSchedule({ stages: [{ durationSeconds: 10, targetRate: 100 }] });
  assert.equal(s.count, 500); // Λ(10) = 100/2 · 10
  for (const j of [0, 1, 5, 125, 320, 499]) assert.ok(Math.abs(s.offsetMs(j) - Math.sqrt(j / 5) * 1000) < 1e-6, `offset ${j}: ${s.offsetMs(j)}`);
  // Λ(k+1) − Λ(k) = 5(2k+1) requests in second k (the boundary request at an integer Λ lands in the later second).
  assert.deepEqual(perSecond(offsets(s), 10), [5, 15, 25, 35, 45, 55, 65, 75, 85, 95]);
});

test('schedule: k6-style stages (ramp, hold, spike, ramp down) count and place requests exactly', () => {
  const stages = parseStages('10s:100,30s:100,5s:400,10s:0');
  assert.deepEqual(stages, [
    { durationSeconds: 10, targetRate: 100 },
    { durationSeconds: 30, targetRate: 100 },
    { durationSeconds: 5, targetRate: 400 },
    { durationSeconds: 10, targetRate: 0 },
  ]);
  const s = buildSchedule({ stages });
  assert.equal(s.count, 500 + 3000 + 1250 + 2000);
  assert.equal(s.durationMs, 55_000);
  const at = offsets(s);
  for (let j = 1; j < at.length; j++) assert.ok(at[j]! >= at[j - 1]!, 'offsets are non-decreasing');
  const counts = perSecond(at, 55);
  // Hold at 100 req/s: exactly 100 a second.
  for (let k = 11; k < 40; k++) assert.equal(counts[k], 100, `second ${k}`);
  // Every second holds Λ(k+1) − Λ(k) requests, ±1 for where the boundaries fall.
  const spec: ScheduleSpec = { stages };
  counts.forEach((c, k) => {
    const expected = expectedArrivals(spec, k + 1) - expectedArrivals(spec, k);
    assert.ok(Math.abs(c - expected) <= 1, `second ${k}: ${c} requests, expected ${expected}`);
  });
  assert.equal(parseStages('500ms:10,1m:20')[0]!.durationSeconds, 0.5);
  assert.equal(parseStages('500ms:10,1m:20')[1]!.durationSeconds, 60);
});

test('schedule: step and spike shapes hold their rates for their shares of the run', () => {
  const step = buildSchedule(shapeSpec('step', 100, 8));
  assert.deepEqual(perSecond(offsets(step), 8), [25, 25, 50, 50, 75, 75, 100, 100]);
  const spike = buildSchedule(shapeSpec('spike', 50, 10));
  const counts = perSecond(offsets(spike), 10);
  assert.deepEqual(counts, [50, 50, 50, 50, 50 * SPIKE_FACTOR, 50 * SPIKE_FACTOR, 50, 50, 50, 50]);
  const soak = buildSchedule(shapeSpec('soak', 10, 600));
  assert.equal(soak.count, 6000);
});

test('schedule: Poisson arrivals are reproducible from the seed and exponential by Kolmogorov–Smirnov', () => {
  const spec: ScheduleSpec = { startRate: 1000, stages: [{ durationSeconds: 10, targetRate: 1000 }], arrivals: 'poisson', seed: 42 };
  const a = buildSchedule(spec);
  const b = buildSchedule(spec);
  const other = buildSchedule({ ...spec, seed: 43 });
  assert.deepEqual(offsets(a), offsets(b));
  assert.notDeepEqual(offsets(a).slice(0, 20), offsets(other).slice(0, 20));
  // Count: Poisson(10 000), so within 4σ = 400.
  assert.ok(Math.abs(a.count - 10_000) < 400, `count ${a.count}`);
  const at = offsets(a);
  const gaps = at.slice(1).map((t, j) => (t - at[j]!) / 1000);
  const d = ksStatistic(gaps, (x) => 1 - Math.exp(-1000 * x));
  assert.ok(d < ksCritical01(gaps.length), `KS D = ${d} ≥ ${ksCritical01(gaps.length)}`);
  // The same test must reject constant arrivals (it can fail).
  const constant = offsets(buildSchedule({ ...spec, arrivals: 'constant' }));
  const constantGaps = constant.slice(1).map((t, j) => (t - constant[j]!) / 1000);
  assert.ok(ksStatistic(constantGaps, (x) => 1 - Math.exp(-1000 * x)) > ksCritical01(constantGaps.length));
});

test('schedule: a ramping Poisson schedule, rescaled by Λ, has exponential(1) gaps', () => {
  const spec: ScheduleSpec = { stages: [{ durationSeconds: 20, targetRate: 800 }], arrivals: 'poisson', seed: 7 };
  const s = buildSchedule(spec);
  const lambdas = offsets(s).map((t) => expectedArrivals(spec, t / 1000));
  const gaps = lambdas.slice(1).map((x, j) => x - lambdas[j]!);
  const d = ksStatistic(gaps, (x) => 1 - Math.exp(-x));
  assert.ok(d < ksCritical01(gaps.length), `KS D = ${d}`);
});

test('schedule: bad stages and over-long runs are refused with a named kind', () => {
  const kind = (k: string) => (e: unknown) => e instanceof ScheduleError && e.kind === k;
  assert.throws(() => parseStages('10s'), kind('invalid-stage'));
  assert.throws(() => parseStages('10x:5'), kind('invalid-stage'));
  assert.throws(() => parseStages('10s:-5'), kind('invalid-stage'));
  assert.throws(() => buildSchedule({ stages: [] }), kind('invalid-stage'));
  assert.throws(() => buildSchedule({ stages: [{ durationSeconds: MAX_SCHEDULE_SECONDS + 1, targetRate: 1 }] }), kind('too-long'));
  assert.throws(() => buildSchedule({ stages: [{ durationSeconds: 1, targetRate: 0 }] }), kind('no-request'));
  assert.throws(() => buildSchedule({ stages: [{ durationSeconds: 1, targetRate: 5 }], arrivals: 'poisson', seed: -1 }), kind('invalid-shape'));
  assert.throws(() => shapeSpec('zigzag' as never, 1, 1), kind('invalid-shape'));
});

async function okServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Dispatch lag p99 up to which the sent gaps are tested against the exponential (a tenth of the 40 ms mean gap). */
const KS_MAX_LAG_MS = 4;

test('open-loop driver: sent timestamps follow a ramping schedule and a Poisson schedule', async (t) => {
  const server = await okServer();
  try {
    const ramp = buildSchedule({ stages: [{ durationSeconds: 4, targetRate: 150 }] });
    // 25 req/s: a mean gap of 40 ms, so that timer granularity (~1 ms) barely moves the gaps' distribution.
    const poisson = buildSchedule({ startRate: 25, stages: [{ durationSeconds: 16, targetRate: 25 }], arrivals: 'poisson', seed: 1 });
    // The machine is shared: when the scheduler itself ran late (dispatch lag), try again, up to
    // three runs, and keep the run with the smallest lag (as the stall-stub test does).
    const best = async (schedule: ArrivalSchedule, goodLagMs: number): Promise<Awaited<ReturnType<typeof runOpenLoop>>> => {
      let run = await runOpenLoop({ url: server.url, schedule, connections: 8, keepSamples: true });
      for (let attempt = 1; attempt < 3 && run.report.dispatch_lag_ms.p99 > goodLagMs; attempt++) {
        const again = await runOpenLoop({ url: server.url, schedule, connections: 8, keepSamples: true });
        if (again.report.dispatch_lag_ms.p99 < run.report.dispatch_lag_ms.p99) run = again;
      }
      return run;
    };
    const runRamp = await best(ramp, 10);
    const runPoisson = await best(poisson, KS_MAX_LAG_MS);
    // Counts per second: a request sent late by up to the lag can cross into the next second.
    const rampLag = runRamp.report.dispatch_lag_ms.p99;
    // Ramp 0 → 150 req/s over 4 s: 300 requests, 18.75·(2k+1) in second k.
    assert.equal(runRamp.report.requests.sent, 300);
    assert.equal(runRamp.report.requests.completed, 300);
    const rampCounts = perSecond(runRamp.samples!.map((x) => x.sentMs), 4);
    rampCounts.forEach((c, k) => {
      const expected = 18.75 * (2 * k + 1);
      const tolerance = 3 + Math.ceil((150 * rampLag) / 1000);
      assert.ok(Math.abs(c - expected) <= tolerance, `ramp second ${k}: ${c} sent, expected ${expected} ± ${tolerance} (counts ${rampCounts}, lag p99 ${rampLag} ms)`);
    });
    // Poisson at 25 req/s: what was sent, per second and as gaps, is what the schedule says.
    const lag = runPoisson.report.dispatch_lag_ms.p99;
    const sent = runPoisson.samples!.map((x) => x.sentMs);
    assert.equal(sent.length, poisson.count);
    const scheduled = perSecond(offsets(poisson), 16);
    const tolerance = 2 + Math.ceil((25 * lag) / 1000);
    perSecond(sent, 16).forEach((c, k) => assert.ok(Math.abs(c - scheduled[k]!) <= tolerance, `poisson second ${k}: ${c} sent, ${scheduled[k]} scheduled ± ${tolerance}`));
    // Latency runs from the scheduled time, never from the (later) send time.
    for (const x of runPoisson.samples!) assert.ok(x.sentMs >= x.scheduledMs - 1e-6);
    assert.equal(runPoisson.report.schedule?.arrivals, 'poisson');
    // The gaps' distribution: a late timer sends a batch at once and collapses its gaps, so the
    // goodness-of-fit test on *sent* times means something only when the generator kept its schedule.
    if (lag > KS_MAX_LAG_MS) {
      t.diagnostic(`KS test on sent gaps not run: dispatch lag p99 ${lag} ms > ${KS_MAX_LAG_MS} ms in the best of 3 runs (machine too loaded)`);
      return;
    }
    const ordered = [...sent].sort((a, b) => a - b);
    const gaps = ordered.slice(1).map((x, j) => (x - ordered[j]!) / 1000);
    const d = ksStatistic(gaps, (x) => 1 - Math.exp(-25 * x));
    assert.ok(d < ksCritical01(gaps.length), `KS D of sent gaps = ${d} ≥ ${ksCritical01(gaps.length)} (lag p99 ${lag} ms)`);
  } finally {
    await server.close();
  }
});

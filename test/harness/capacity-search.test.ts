import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCapacity, openLoopStepRunner, parseSlo, sloLabel, stepPasses, CapacitySloError, type StepMeasurement } from '../../src/harness/load/capacity-search.js';
import { startCapacityStubChild } from '../../src/harness/load/capacity-stub.js';

// C is small so that a loaded 2-core machine still offers it; the SLO (400 ms) lies between the
// stub's two latencies (≈ 0 plus scheduling jitter below C, 2000 ms above it). A machine so busy
// that the generator falls far behind (dispatch lag noted in the outcome) gets one more try.
test('capacity search finds the known capacity of a stub (C = 200 req/s) within 10 %', async (t) => {
  const capacity = 200;
  // A 2 s counting window: a burst after 100 ms of dispatch lag moves the count by 5 %, not 10 %.
  const stub = await startCapacityStubChild(capacity, 2000, 2000);
  t.after(() => stub.close());
  const slo = parseSlo('p99=400ms');
  const search = () =>
    findCapacity(openLoopStepRunner({ url: stub.url, connections: 64 }, slo), {
      slo,
      startRate: 50,
      tolerance: 0.05,
      maxSteps: 10,
      // ≥ the stub's window, so it holds only this step's arrivals when measuring starts.
      warmUpSeconds: 2,
      measureSeconds: 2,
      pauseAfterFailMs: 300,
    });
  let outcome = await search();
  const within = (c: number): boolean => Math.abs(c - capacity) <= 0.1 * capacity;
  if (!within(outcome.capacity) && outcome.quality.notes.some((n) => n.includes('behind schedule'))) {
    t.diagnostic(`retry: capacity ${outcome.capacity} with the generator behind schedule`);
    outcome = await search();
  }
  t.diagnostic(`steps: ${outcome.steps.map((s) => `${s.offered_rate_per_s}:${s.passed ? 'pass' : 'fail'}(p99 ${s.p99_ms})`).join(' ')}; capacity ${outcome.capacity}`);
  assert.equal(outcome.valid, true, outcome.quality.notes.join('; '));
  assert.ok(within(outcome.capacity), `capacity ${outcome.capacity} req/s, expected ${capacity} ± 10 %`);
  assert.ok(outcome.steps.some((s) => !s.passed), 'the search saw a failing step above the capacity');
  for (const s of outcome.steps) {
    assert.ok(s.requests > 0);
    assert.equal(s.repetition, 0);
  }
});

/** A step runner whose p99 is a known function of the rate: 5 ms below `knee`, 500 ms above. */
function kneeRunner(knee: number, calls: number[], saturateAt = Infinity) {
  return async (rate: number): Promise<StepMeasurement> => {
    calls.push(rate);
    const p = rate <= knee ? 5 : 500;
    return { achievedRate: Math.min(rate, knee), p50: p / 2, p90: p, p99: p, errors: 0, requests: 100, generatorSaturated: rate >= saturateAt, windowAnswered: 100, notes: [] };
  };
}

test('capacity search: ramp then bisection to the tolerance, bounded by maxSteps; a hint starts around it', async () => {
  const calls: number[] = [];
  const out = await findCapacity(kneeRunner(1234, calls), { startRate: 50, tolerance: 0.05, maxSteps: 20, pauseAfterFailMs: 0 });
  assert.deepEqual(calls.slice(0, 6), [50, 100, 200, 400, 800, 1600]);
  assert.ok(out.capacity <= 1234 && out.capacity >= 1234 / 1.05, `capacity ${out.capacity}`);
  assert.ok(out.lowestFailing! > 1234 && out.lowestFailing! <= out.capacity * 1.05 + 1);
  assert.equal(out.quality.clean, true);

  const hinted: number[] = [];
  const again = await findCapacity(kneeRunner(1234, hinted), { hint: out.capacity, tolerance: 0.05, maxSteps: 20, pauseAfterFailMs: 0 });
  assert.ok(hinted.length < calls.length, `hinted search took ${hinted.length} steps, unhinted ${calls.length}`);
  assert.ok(Math.abs(again.capacity - out.capacity) <= out.capacity * 0.05);

  const short: number[] = [];
  const cut = await findCapacity(kneeRunner(1234, short), { startRate: 50, maxSteps: 3, pauseAfterFailMs: 0 });
  assert.equal(short.length, 3);
  assert.equal(cut.capacity, 200);
  assert.match(cut.quality.notes.join(';'), /stopped after 3 steps/);
});

test('capacity search: a step with a saturated generator invalidates the search', async () => {
  const out = await findCapacity(kneeRunner(1000, [], 400), { startRate: 100, pauseAfterFailMs: 0 });
  assert.equal(out.valid, false);
  assert.equal(out.quality.clean, false);
  assert.match(out.quality.notes.join(';'), /generator saturated in the step at 400 req\/s/);
});

test('capacity search: errors above the bound fail a step; SLO parsing', () => {
  const m: StepMeasurement = { achievedRate: 100, p50: 1, p90: 2, p99: 3, errors: 2, requests: 100, generatorSaturated: false, windowAnswered: 100, notes: [] };
  assert.equal(stepPasses(m, { slo: { stat: 'p99', maxMs: 50 }, maxErrorRate: 0.01 }), false);
  assert.equal(stepPasses(m, { slo: { stat: 'p99', maxMs: 50 }, maxErrorRate: 0.02 }), true);
  assert.equal(stepPasses({ ...m, errors: 0, p99: 51 }, { slo: { stat: 'p99', maxMs: 50 }, maxErrorRate: 0.01 }), false);
  assert.deepEqual(parseSlo('p99=50ms'), { stat: 'p99', maxMs: 50 });
  assert.deepEqual(parseSlo('p90<=0.2s'), { stat: 'p90', maxMs: 200 });
  assert.equal(sloLabel(parseSlo('p99=50ms')), 'p99-50ms');
  assert.throws(() => parseSlo('p95=50ms'), CapacitySloError);
  assert.throws(() => parseSlo('p99=-1ms'), CapacitySloError);
});

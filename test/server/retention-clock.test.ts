import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SystemClock, VirtualClock } from '../../src/server/clock.js';

test('VirtualClock moves only by advance; timers fire in due order at their due time', () => {
  const clock = new VirtualClock(1_000);
  assert.equal(clock.now(), 1_000);
  const fired: [string, number][] = [];
  clock.setTimer(300, () => fired.push(['c', clock.now()]));
  clock.setTimer(100, () => {
    fired.push(['a', clock.now()]);
    clock.setTimer(50, () => fired.push(['nested', clock.now()])); // due inside the same advance
  });
  clock.setTimer(100, () => fired.push(['b', clock.now()]));
  const cancelled = clock.setTimer(200, () => fired.push(['x', clock.now()]));
  cancelled.cancel();
  clock.setTimer(10_000, () => fired.push(['late', clock.now()]));
  assert.equal(clock.advance(500), 1_500);
  assert.deepEqual(fired, [['a', 1_100], ['b', 1_100], ['nested', 1_150], ['c', 1_300]]);
  assert.equal(clock.pendingTimers, 1);
  clock.advance(9_499);
  assert.equal(fired.length, 4);
  clock.advance(1);
  assert.deepEqual(fired.at(-1), ['late', 11_000]);
  assert.throws(() => clock.advance(-1), RangeError);
});

test('SystemClock follows wall time and runs timers', async () => {
  const clock = new SystemClock();
  assert.ok(Math.abs(clock.now() - Date.now()) < 1000);
  // The clock's timers do not keep the process alive (unref): this one does, while the test waits.
  const keepAlive = setTimeout(() => {}, 10_000);
  try {
    await new Promise<void>((resolve) => clock.setTimer(1, resolve));
    let ran = false;
    clock.setTimer(1, () => (ran = true)).cancel();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(ran, false);
  } finally {
    clearTimeout(keepAlive);
  }
});

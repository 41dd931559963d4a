/**
 * The spam guard's rules on their own (src/server/spam-guard.ts), at a scale the HTTP suites do
 * not reach: 10,000 registered users, a business messaging thousands of its own customers beside
 * a spammer cold-messaging everyone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpamGuard } from '../../src/server/spam-guard.js';
import { GraphError } from '../../src/server/graph-error.js';
import { TokenBucket } from '../../src/server/token-bucket.js';

const hour = 3_600_000;

function trySend(guard: SpamGuard, pnid: string, waId: string, cold: boolean, users: number, nowMs: number): boolean {
  try {
    guard.checkOutbound(pnid, waId, cold, users, nowMs);
  } catch (error) {
    assert.ok(error instanceof GraphError && error.kind === 'spam-rate');
    return false;
  }
  guard.commitOutbound(pnid, waId, cold, users, nowMs);
  return true;
}

test('at 10,000 users: the spammer stops at half of them, the business with 6,000 customers never does', () => {
  const guard = new SpamGuard();
  const users = 10_000;
  let now = 0;
  let spammerSent = 0;
  for (let i = 0; i < users; i++) {
    now += 10;
    // The honest business messages its customers (they wrote first: never cold).
    if (i < 6_000) assert.ok(trySend(guard, 'honest', `u${i}`, false, users, now), `honest send ${i}`);
    if (trySend(guard, 'spammer', `u${i}`, true, users, now)) spammerSent += 1;
  }
  assert.equal(spammerSent, 5_000, 'stopped at max(100, 50 % of 10,000)');
  assert.ok(guard.isStopped('spammer', now));
  assert.ok(!guard.isStopped('honest', now));
  assert.equal(guard.qualityRating('honest', now), 'GREEN');
  // The penalty runs out 24 h after the contact that tripped the rule.
  assert.ok(guard.isStopped('spammer', now + 23 * hour));
  assert.ok(!guard.isStopped('spammer', now + 25 * hour));
});

test('quality: a few reports among many delivered users stay GREEN; a reporter is always shielded', () => {
  const guard = new SpamGuard();
  for (let i = 0; i < 1_000; i++) guard.recordDelivered('shop', `u${i}`, 0);
  for (let i = 0; i < 10; i++) guard.recordReport('shop', `u${i}`, 0); // 1 %
  assert.equal(guard.qualityRating('shop', 1), 'GREEN');
  assert.throws(() => guard.checkOutbound('shop', 'u3', false, 1_000, 1), (e: unknown) => e instanceof GraphError && e.kind === 'spam-rate');
  guard.checkOutbound('shop', 'u500', false, 1_000, 1);
  for (let i = 10; i < 30; i++) guard.recordReport('shop', `u${i}`, 0); // 3 %
  assert.equal(guard.qualityRating('shop', 1), 'YELLOW');
  for (let i = 30; i < 60; i++) guard.recordReport('shop', `u${i}`, 0); // 6 %
  assert.equal(guard.qualityRating('shop', 1), 'RED');
  // Reports age out of the 7-day window.
  assert.equal(guard.qualityRating('shop', 8 * 24 * hour), 'GREEN');
  // Retention forgets the identifiers.
  guard.forgetBefore(1);
  assert.doesNotThrow(() => guard.checkOutbound('shop', 'u3', false, 1_000, 8 * 24 * hour));
});

test('token bucket: burst, refill on the clock, and a refused check changes nothing', () => {
  const bucket = new TokenBucket({ capacity: 45, refillPerMs: 1 / 6_000 }, 0);
  for (let i = 0; i < 45; i++) {
    assert.ok(bucket.canTake(0));
    bucket.take(0);
  }
  assert.ok(!bucket.canTake(0));
  assert.ok(!bucket.canTake(5_999));
  assert.ok(bucket.canTake(6_000));
  assert.equal(bucket.available(3_000), 0.5);
  assert.ok(bucket.isFull(45 * 6_000));
});

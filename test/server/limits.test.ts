/**
 * Limits in the contract's order (transport-api.md §2, cloud-api.md §3): throughput counting
 * inbound and outbound (130429), pair rate (131056), service window (131047), messaging-limit
 * tier (131049), spam reports and the unusual-pattern rule (131048) — and a legitimate business
 * beside a spammer is never stopped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDevice, call, createBusiness, eventually, sendTemplate, sendText, type TestBusiness } from './test-client.js';
import { startTestServer } from './test-server.js';

const user = (i: number): string => String(4_930_000_000 + i);

test('throughput per number counts inbound and outbound (130429), HTTP status configurable', async () => {
  const t = await startTestServer({ throttleHttpStatus: { throughput: 400 } });
  try {
    const business = await createBusiness(t.server, t.receiver, { throughput_mps: 3 });
    for (let i = 0; i < 3; i++) assert.equal((await sendTemplate(t.server, business, user(i))).status, 200);
    const refused = await sendTemplate(t.server, business, user(3));
    assert.equal(refused.status, 400, 'the configured status');
    assert.equal(refused.body.error.code, 130429);
    t.clock.advance(1_000);
    // Inbound messages use the same bucket.
    const device = await TestDevice.register(t.server, user(10), 1);
    await device.startSession(business.pnid);
    for (let i = 0; i < 3; i++) assert.equal((await device.sendText(business.pnid, `m${i}`)).status, 202);
    const inboundRefused = await device.sendText(business.pnid, 'one too many');
    assert.equal(inboundRefused.body.error.code, 130429);
    assert.equal((await sendText(t.server, business, user(10), 'reply')).body.error.code, 130429);
    t.clock.advance(1_000);
    assert.equal((await sendText(t.server, business, user(10), 'reply')).status, 200);
  } finally {
    await t.close();
  }
});

test('default throughput is 80 mps', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, undefined);
    for (let i = 0; i < 80; i++) assert.equal((await sendTemplate(t.server, business, user(i))).status, 200);
    const refused = await sendTemplate(t.server, business, user(80));
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 130429);
  } finally {
    await t.close();
  }
});

test('pair rate: bursts to 45, then 1 per 6 s (131056); service window (131047); tier (131049)', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, undefined, { messaging_limit: 'TIER_50' });
    for (let i = 0; i < 45; i++) {
      const answer = await sendTemplate(t.server, business, user(1));
      assert.equal(answer.status, 200, `send ${i}: ${answer.text}`);
      if (i % 20 === 19) t.clock.advance(1_000); // stay under 80 mps; refills 1/6 of a pair token per second
    }
    // 2 s passed: 45 - 45 + 2/6 < 1 token.
    const refused = await sendTemplate(t.server, business, user(1));
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 131056);
    t.clock.advance(6_000);
    assert.equal((await sendTemplate(t.server, business, user(1))).status, 200);
    assert.equal((await sendTemplate(t.server, business, user(1))).body.error.code, 131056);

    // Free-form needs the user's message in the last 24 h.
    const freeForm = await sendText(t.server, business, user(2), 'hello?');
    assert.equal(freeForm.status, 400);
    assert.equal(freeForm.body.error.code, 131047);

    // TIER_50: 50 unique users outside a window per rolling 24 h (user(1) is already one).
    t.clock.advance(1_000);
    for (let i = 2; i <= 50; i++) {
      assert.equal((await sendTemplate(t.server, business, user(i))).status, 200, `user ${i}`);
      if (i % 40 === 0) t.clock.advance(1_000);
    }
    const overTier = await sendTemplate(t.server, business, user(51));
    assert.equal(overTier.body.error.code, 131049);
    // Users already counted can still be messaged.
    t.clock.advance(6_000);
    assert.equal((await sendTemplate(t.server, business, user(50))).status, 200);
    // A day later the window has rolled.
    t.clock.advance(24 * 3_600_000);
    assert.equal((await sendTemplate(t.server, business, user(51))).status, 200);
  } finally {
    await t.close();
  }
});

async function customersOf(t: Awaited<ReturnType<typeof startTestServer>>, business: TestBusiness, first: number, count: number): Promise<TestDevice[]> {
  const devices: TestDevice[] = [];
  for (let i = first; i < first + count; i++) {
    const device = await TestDevice.register(t.server, user(i), 1, 1);
    await device.startSession(business.pnid);
    assert.equal((await device.sendText(business.pnid, 'I am a customer')).status, 202);
    devices.push(device);
  }
  return devices;
}

test('spam reports turn quality RED and stop the business (131048); a reporter gets nothing more', async () => {
  const t = await startTestServer({ spamGuard: { minAudience: 5, yellowRatio: 0.2, redRatio: 0.4, minColdUsers: 1_000 } });
  try {
    const spammer = await createBusiness(t.server, t.receiver);
    const honest = await createBusiness(t.server, undefined);
    const targets: TestDevice[] = [];
    for (let i = 0; i < 6; i++) targets.push(await TestDevice.register(t.server, user(i), 1, 2));
    const honestCustomers = await customersOf(t, honest, 100, 3);
    const wamids: string[] = [];
    for (const target of targets) {
      const sent = await sendTemplate(t.server, spammer, target.waId, 'promo');
      assert.equal(sent.status, 200);
      wamids.push(sent.body.messages[0].id);
    }
    for (const [i, target] of targets.entries()) {
      await target.inbox();
      assert.equal((await target.receipts([wamids[i]!], 'delivered')).status, 204);
    }
    // One report: that user is shielded at once; quality is 1/6 < 0.2 (GREEN).
    assert.equal((await targets[0]!.report(spammer.pnid)).status, 204);
    const toReporter = await sendTemplate(t.server, spammer, targets[0]!.waId, 'promo');
    assert.equal(toReporter.status, 429);
    assert.equal(toReporter.body.error.code, 131048);
    t.clock.advance(10_000);
    assert.equal((await sendTemplate(t.server, spammer, targets[1]!.waId, 'promo')).status, 200);
    // Two more: 3/6 ≥ 0.4 → RED: every send stopped.
    assert.equal((await targets[1]!.report(spammer.pnid)).status, 204);
    assert.equal((await targets[2]!.report(spammer.pnid)).status, 204);
    t.clock.advance(10_000);
    const stopped = await sendTemplate(t.server, spammer, targets[5]!.waId, 'promo');
    assert.equal(stopped.body.error.code, 131048);
    // The honest business is untouched.
    for (const c of honestCustomers) assert.equal((await sendText(t.server, honest, c.waId, 'your order shipped')).status, 200);
  } finally {
    await t.close();
  }
});

test('unusual pattern: messaging most users cold stops a spammer (131048), never a business with its own customers', async () => {
  const t = await startTestServer({ spamGuard: { shareOfUsers: 0.5, minColdUsers: 5 } });
  try {
    const spammer = await createBusiness(t.server, undefined);
    const honest = await createBusiness(t.server, t.receiver);
    // 12 customers of the honest business (they wrote to it first), 8 other users: 20 registered.
    const customers = await customersOf(t, honest, 0, 12);
    for (let i = 12; i < 20; i++) await TestDevice.register(t.server, user(i), 1, 1);
    await eventually(() => t.receiver.messages.length === 12);
    // Threshold: max(5, 0.5 × 20) = 10 cold contacts in 24 h.
    let refusedAt = -1;
    for (let i = 0; i < 20; i++) {
      const answer = await sendTemplate(t.server, spammer, user(i), 'promo');
      if (answer.status !== 200) {
        assert.equal(answer.body.error.code, 131048);
        refusedAt = i;
        break;
      }
    }
    assert.equal(refusedAt, 10, 'stopped once it had messaged half of all users cold');
    // Stopped for everything, even a user who is not new to it.
    t.clock.advance(60_000);
    assert.equal((await sendTemplate(t.server, spammer, user(0), 'promo')).body.error.code, 131048);
    // The honest business messages all its customers (more than the threshold), repeatedly.
    for (let round = 0; round < 2; round++) {
      for (const c of customers) {
        const answer = await sendText(t.server, honest, c.waId, `update ${round}`);
        assert.equal(answer.status, 200, answer.text);
      }
      t.clock.advance(60_000);
    }
    // And templates to its customers after their windows closed are not "cold" either.
    t.clock.advance(25 * 3_600_000);
    for (const c of customers) assert.equal((await sendTemplate(t.server, honest, c.waId, 'reminder')).status, 200);
    // The spammer stays stopped within the penalty…
    assert.equal((await sendTemplate(t.server, spammer, user(19), 'promo')).status, 200, 'penalty over after 24 h');
    const metrics = await call(t.server, 'GET', '/metrics', t.server.adminToken);
    assert.match(metrics.text, /sigload_errors_total\{code="131048"\} 2/);
  } finally {
    await t.close();
  }
});

/**
 * Sybil resistance (issue 14, item 1): spam reports count only from users the business reached;
 * registration is rate-limited per registration token and per source address; one identity key
 * belongs to one wa_id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LibsignalDevice } from '../../src/harness/device/libsignal-peer.js';
import { TestDevice, call, createBusiness, registrationBody, sendTemplate, sendText } from './test-client.js';
import { startTestServer } from './test-server.js';

const user = (i: number): string => String(4_931_000_000 + i);

test('fresh devices reporting a business that never reached them leave its quality GREEN', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, t.receiver);
    const customers: TestDevice[] = [];
    for (let i = 0; i < 2; i++) {
      const device = await TestDevice.register(t.server, user(i), 1, 1);
      await device.startSession(business.pnid);
      assert.equal((await device.sendText(business.pnid, 'hi')).status, 202);
      assert.equal((await sendText(t.server, business, user(i), 'hello, customer')).status, 200);
      customers.push(device);
    }
    // A Sybil of fresh registrations: each report is accepted, none counts.
    for (let i = 100; i < 106; i++) {
      const stranger = await TestDevice.register(t.server, user(i), 1, 0);
      assert.equal((await stranger.report(business.pnid)).status, 204);
    }
    t.clock.advance(10_000);
    for (const customer of customers) {
      const reply = await sendText(t.server, business, customer.waId, 'your order shipped');
      assert.equal(reply.status, 200, reply.text);
    }
    const metrics = await call(t.server, 'GET', '/metrics', t.server.adminToken);
    assert.match(metrics.text, /sigload_spam_reports_total{outcome="ignored"} 6/);
  } finally {
    await t.close();
  }
});

test('reports from users the business reached still count (RED stops it)', async () => {
  const t = await startTestServer({ spamGuard: { minAudience: 2, redRatio: 0.5, minColdUsers: 1_000 } });
  try {
    const business = await createBusiness(t.server, undefined);
    const reached: TestDevice[] = [];
    for (let i = 0; i < 3; i++) {
      const device = await TestDevice.register(t.server, user(200 + i), 1, 1);
      assert.equal((await sendTemplate(t.server, business, device.waId, 'promo')).status, 200);
      reached.push(device);
    }
    assert.equal((await reached[0]!.report(business.pnid)).status, 204);
    assert.equal((await reached[1]!.report(business.pnid)).status, 204);
    t.clock.advance(10_000);
    const stopped = await sendTemplate(t.server, business, reached[2]!.waId, 'promo');
    assert.equal(stopped.body?.error?.code, 131048, stopped.text);
  } finally {
    await t.close();
  }
});

test('one identity key belongs to one wa_id: re-use for another wa_id is refused (131009), nothing stored', async () => {
  const t = await startTestServer();
  try {
    const peer = await LibsignalDevice.create(user(300), 1);
    const body = registrationBody(peer, user(300), 1);
    assert.equal((await call(t.server, 'POST', '/transport/v1/devices', t.server.registrationToken, body)).status, 201);
    // The same device registering again (same wa_id) is a re-registration.
    assert.equal((await call(t.server, 'POST', '/transport/v1/devices', t.server.registrationToken, body)).status, 201);
    const before = (await t.store.metrics()).contacts;
    for (let i = 1; i <= 3; i++) {
      const stolen = await call(t.server, 'POST', '/transport/v1/devices', t.server.registrationToken, { ...body, wa_id: user(300 + i) });
      assert.equal(stolen.status, 400, stolen.text);
      assert.equal(stolen.body.error.code, 131009);
      assert.match(stolen.body.error.error_data.details, /identity_key/);
    }
    assert.equal((await t.store.metrics()).contacts, before, 'no contact created by a refused registration');
    assert.equal(await t.store.getContact(user(301)), undefined);
  } finally {
    await t.close();
  }
});

test('registrations are limited per source address and per registration token (429, 133016)', async () => {
  const t = await startTestServer({ registrationLimits: { sourceBurst: 3, sourcePerMinute: 1, tokenBurst: 1_000, tokenPerMinute: 1 } });
  try {
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const peer = await LibsignalDevice.create(user(400 + i), 1);
      answers.push(await call(t.server, 'POST', '/transport/v1/devices', t.server.registrationToken, registrationBody(peer, user(400 + i), 0)));
    }
    assert.deepEqual(answers.map((a) => a.status), [201, 201, 201, 429]);
    assert.equal(answers[3]!.body.error.code, 133016);
    assert.equal(await t.store.getContact(user(403)), undefined, 'a refused registration stores nothing');
  } finally {
    await t.close();
  }
  const u = await startTestServer({ registrationLimits: { sourceBurst: 1_000, sourcePerMinute: 1, tokenBurst: 2, tokenPerMinute: 1 } });
  try {
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const peer = await LibsignalDevice.create(user(500 + i), 1);
      statuses.push((await call(u.server, 'POST', '/transport/v1/devices', u.server.registrationToken, registrationBody(peer, user(500 + i), 0))).status);
    }
    assert.deepEqual(statuses, [201, 201, 429]);
    // Wrong tokens are refused before they use anybody's budget.
    const wrong = await call(u.server, 'POST', '/transport/v1/devices', 'not-the-token', {});
    assert.equal(wrong.status, 401);
  } finally {
    await u.close();
  }
});

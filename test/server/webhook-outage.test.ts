/**
 * A webhook receiver that is down and then comes back gets every message and every status,
 * none lost (transport-api.md §2: retried with exponential backoff for up to 7 days on the
 * server's clock).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDevice, createBusiness, eventually, sendTemplate, sendText } from './test-client.js';
import { startTestServer } from './test-server.js';

test('a receiver that is down for hours gets every webhook once it is back', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, t.receiver);
    t.receiver.down = true;
    const devices = [await TestDevice.register(t.server, '5511900000001', 1), await TestDevice.register(t.server, '5511900000002', 1)];
    const wamids: string[] = [];
    for (const device of devices) {
      await device.startSession(business.pnid);
      for (let i = 0; i < 3; i++) assert.equal((await device.sendText(business.pnid, `m${i}`)).status, 202);
      const reply = await sendText(t.server, business, device.waId, 'got it');
      assert.equal(reply.status, 200);
      wamids.push(reply.body.messages[0].id);
    }
    const noDevice = await sendTemplate(t.server, business, '5511900000009');
    wamids.push(noDevice.body.messages[0].id);
    for (const [i, device] of devices.entries()) {
      await device.inbox();
      assert.equal((await device.receipts([wamids[i]!], 'delivered')).status, 204);
      assert.equal((await device.receipts([wamids[i]!], 'read')).status, 204);
    }
    await eventually(() => t.receiver.refused >= 2);
    // Hours of outage on the server clock: every retry fails.
    for (let hour = 0; hour < 6; hour++) {
      t.clock.advance(3_600_000);
      await t.server.settled();
    }
    assert.equal(t.receiver.messages.length, 0);
    assert.ok(t.receiver.refused >= 4, `retried while down (${t.receiver.refused} refusals)`);
    // Back up.
    t.receiver.down = false;
    for (let step = 0; step < 4 && (t.receiver.messages.length < 6 || t.receiver.statuses.length < 7); step++) {
      t.clock.advance(3_600_000);
      await t.server.settled();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await eventually(() => t.receiver.messages.length >= 6 && t.receiver.statuses.length >= 7);
    const bodies = t.receiver.messages.map((m) => `${m.from}:${(m['text'] as { body: string }).body}`).sort();
    assert.deepEqual(bodies, ['5511900000001:m0', '5511900000001:m1', '5511900000001:m2', '5511900000002:m0', '5511900000002:m1', '5511900000002:m2']);
    for (const wamid of wamids.slice(0, 2)) assert.deepEqual(new Set(t.receiver.statusesOf(wamid)), new Set(['sent', 'delivered', 'read']));
    assert.deepEqual(t.receiver.statusesOf(wamids[2]!), ['failed']);
    assert.equal(t.receiver.badSignatures, 0);
    assert.equal(t.server.webhooks.metrics.dropped, 0);
  } finally {
    await t.close();
  }
});

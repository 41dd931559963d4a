/**
 * End to end with libsignal-client 0.90.0 devices (transport-api.md §1, §2): registration (two
 * devices), bundle, PreKey then Whisper messages, signed webhooks, replies that every device
 * decrypts, receipts → delivered/read webhooks, a business-initiated template to a new user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDevice, call, createBusiness, eventually, sendTemplate, sendText } from './test-client.js';
import { startTestServer } from './test-server.js';
import { startReferenceServer } from '../../src/server/reference-server.js';

test('a user with two devices and a business talk both ways over Signal', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, t.receiver);
    const phone = await TestDevice.register(t.server, '4915112345678', 1);
    const tablet = await TestDevice.register(t.server, '4915112345678', 2);

    await phone.startSession(business.pnid);
    const first = await phone.encrypt(business.pnid, { type: 'text', text: { body: 'hello business' } });
    assert.equal(first.type, 3, 'the first message is a PreKey message');
    const sent1 = await phone.postCiphertext(business.pnid, first);
    assert.equal(sent1.status, 202, sent1.text);
    assert.match(sent1.body.id, /^wamid\./);

    await eventually(() => t.receiver.messages.length === 1);
    assert.equal(t.receiver.badSignatures, 0);
    assert.equal(t.receiver.messages[0]!.from, '4915112345678');
    assert.deepEqual(t.receiver.messages[0]!['text'], { body: 'hello business' });
    assert.equal(t.receiver.messages[0]!.id, sent1.body.id);

    // The business replies; every device of the user gets and decrypts it.
    const reply = await sendText(t.server, business, '+4915112345678', 'hello user');
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.contacts[0].wa_id, '4915112345678');
    const wamid = reply.body.messages[0].id as string;
    const phoneInbox = await phone.inbox();
    const tabletInbox = await tablet.inbox();
    assert.equal(phoneInbox.length, 1);
    assert.equal(tabletInbox.length, 1);
    assert.equal(phoneInbox[0]!.type, 2, 'the phone already has a session: Whisper message');
    assert.equal(tabletInbox[0]!.type, 3, 'the tablet gets a PreKey message from its bundle');
    for (const m of [...phoneInbox, ...tabletInbox]) {
      assert.equal(m.id, wamid);
      assert.deepEqual(m.plaintext, { type: 'text', text: { body: 'hello user' } });
    }

    // Now the phone's messages are Whisper messages.
    const second = await phone.encrypt(business.pnid, { type: 'text', text: { body: 'second' } });
    assert.equal(second.type, 2);
    assert.equal((await phone.postCiphertext(business.pnid, second)).status, 202);
    await eventually(() => t.receiver.messages.length === 2);
    assert.deepEqual(t.receiver.messages[1]!['text'], { body: 'second' });

    // Receipts become status webhooks.
    assert.equal((await phone.receipts([wamid], 'delivered')).status, 204);
    assert.equal((await tablet.receipts([wamid], 'read')).status, 204);
    await eventually(() => t.receiver.statusesOf(wamid).length === 3);
    assert.deepEqual(t.receiver.statusesOf(wamid), ['sent', 'delivered', 'read']);
    assert.equal(t.receiver.statuses.find((s) => s.id === wamid)!.recipient_id, '4915112345678');
  } finally {
    await t.close();
  }
});

test('a business-initiated template to a new user sets up the session from the device bundle', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, t.receiver);
    const user = await TestDevice.register(t.server, '3361234567', 1, 2);
    const text = await sendText(t.server, business, '3361234567', 'free-form first');
    assert.equal(text.status, 400, 'free-form outside a service window is refused');
    assert.equal(text.body.error.code, 131047);
    const sent = await sendTemplate(t.server, business, '3361234567');
    assert.equal(sent.status, 200, sent.text);
    const inbox = await user.inbox();
    assert.equal(inbox.length, 1);
    assert.equal(inbox[0]!.type, 3);
    assert.equal(inbox[0]!.plaintext.type, 'template');
    assert.equal(inbox[0]!.plaintext.template.name, 'order_update');
    // The user answers on the session the business set up (a Whisper message).
    const answer = await user.encrypt(business.pnid, { type: 'text', text: { body: 'thanks' } });
    assert.equal(answer.type, 2);
    assert.equal((await user.postCiphertext(business.pnid, answer)).status, 202);
    await eventually(() => t.receiver.messages.length === 1);
    // Now inside the service window: free-form works.
    assert.equal((await sendText(t.server, business, '3361234567', 'welcome')).status, 200);
    const next = await user.inbox();
    assert.deepEqual(next[0]!.plaintext, { type: 'text', text: { body: 'welcome' } });
  } finally {
    await t.close();
  }
});

test('a user with no device: accepted, then a failed status with 131026', async () => {
  const t = await startTestServer();
  try {
    const business = await createBusiness(t.server, t.receiver);
    const sent = await sendTemplate(t.server, business, '123456789012');
    assert.equal(sent.status, 200, sent.text);
    const wamid = sent.body.messages[0].id;
    await eventually(() => t.receiver.statusesOf(wamid).length === 1);
    const failed = t.receiver.statuses.find((s) => s.id === wamid)!;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.errors![0]!.code, 131026);
  } finally {
    await t.close();
  }
});

test('long-poll wakes when a message arrives, and bundles never share a one-time prekey', async () => {
  const t = await startTestServer({ businessKeys: { poolTarget: 6, poolLowWater: 3 } });
  try {
    const business = await createBusiness(t.server, t.receiver);
    const user = await TestDevice.register(t.server, '4477001234', 1);
    const seen = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const { bundle } = await user.fetchBundle(business.pnid);
      if (bundle.oneTimePreKeyId !== undefined) {
        assert.ok(!seen.has(bundle.oneTimePreKeyId), `one-time prekey ${bundle.oneTimePreKeyId} handed out twice`);
        seen.add(bundle.oneTimePreKeyId);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(seen.size >= 10, `the pool is refilled in the background (got ${seen.size} distinct one-time prekeys)`);
    await user.startSession(business.pnid);
    assert.equal((await user.sendText(business.pnid, 'hi')).status, 202);
    const polling = user.inbox(10_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    assert.equal((await sendText(t.server, business, '4477001234', 'woken')).status, 200);
    const got = await polling;
    assert.ok(Date.now() - started < 5_000);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.plaintext.text.body, 'woken');
    const metrics = await call(t.server, 'GET', '/metrics', t.server.adminToken);
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /sigload_http_requests_total\{face="transport",status="202"\} 1/);
    assert.match(metrics.text, /sigload_sessions 1/);
  } finally {
    await t.close();
  }
});

test('a one-time prekey handed out before a restart still opens the PreKey message after it', async () => {
  const masterKeys = { US: new Uint8Array(32).fill(7) };
  const t = await startTestServer({ masterKeys });
  let second: Awaited<ReturnType<typeof startReferenceServer>> | undefined;
  try {
    const business = await createBusiness(t.server, t.receiver);
    const user = await TestDevice.register(t.server, '4420700000001', 1);
    const { bundle } = await user.fetchBundle(business.pnid);
    assert.notEqual(bundle.oneTimePreKeyId, undefined);
    await user.peer.processBundle({ name: business.pnid, deviceId: 1 }, bundle);
    await t.server.close();
    second = await startReferenceServer({ store: t.store, clock: t.clock, masterKeys, adminToken: 'admin-token', registrationToken: 'registration-token', retention: false });
    const moved = Object.assign(Object.create(Object.getPrototypeOf(user)), user, { server: second }) as TestDevice;
    const answer = await moved.sendText(business.pnid, 'after the restart');
    assert.equal(answer.status, 202, answer.text);
    await eventually(() => t.receiver.messages.length === 1);
    assert.deepEqual(t.receiver.messages[0]!['text'], { body: 'after the restart' });
  } finally {
    await second?.close();
    await t.close();
  }
});

/**
 * Two server processes on one PostgreSQL database serve the same business (issue 6): devices
 * and the business alternate between them, concurrently; no session diverges (every message
 * decrypts on both sides) and no one-time prekey is handed out twice.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDevice, createBusiness, eventually, sendText } from './test-client.js';
import { WebhookReceiver } from './webhook-receiver.js';
import { freePort, startServerProcess, testMasterKey, type ServerProcess } from './durability-process.js';
import { createTestDatabase, type TestDatabase } from '../store/postgres-database.js';

let db: TestDatabase;
const running: ServerProcess[] = [];

before(async () => {
  db = await createTestDatabase('sigload_multi');
});
after(async () => {
  for (const p of running) await p.stop();
  await db?.drop();
});

test('two server processes on one database serve one business without a session diverging', { timeout: 120_000 }, async () => {
  const masterKey = testMasterKey();
  // Started together: both run the migrations at once (advisory lock) on the fresh database.
  const started = await Promise.allSettled([startServerProcess(db.url, await freePort(), masterKey), startServerProcess(db.url, await freePort(), masterKey)]);
  for (const s of started) if (s.status === 'fulfilled') running.push(s.value);
  const [a, b] = started.map((s) => {
    if (s.status === 'rejected') throw s.reason;
    return s.value;
  }) as [ServerProcess, ServerProcess];
  const receiver = new WebhookReceiver();
  await receiver.start();
  try {
    const business = await createBusiness(a.handle, receiver);
    const users = ['4915200000001', '4915200000002', '4915200000003'];
    // Each user registers through one process and talks through both.
    const onA: TestDevice[] = [];
    const onB: TestDevice[] = [];
    for (const [i, waId] of users.entries()) {
      const device = await TestDevice.register(i % 2 ? b.handle : a.handle, waId, 1, 5);
      const twin = Object.assign(Object.create(Object.getPrototypeOf(device) as object) as TestDevice, device, { server: i % 2 ? a.handle : b.handle });
      onA.push(i % 2 ? twin : device);
      onB.push(i % 2 ? device : twin);
    }

    // Bundles from both processes at once: every one-time prekey is handed out once.
    const bundles = await Promise.all(users.flatMap((_, i) => [onA[i]!.fetchBundle(business.pnid), onB[i]!.fetchBundle(business.pnid)]));
    const ids = bundles.map((x) => x.bundle.oneTimePreKeyId).filter((id) => id !== undefined);
    assert.equal(new Set(ids).size, ids.length, `one-time prekeys handed out twice: ${ids.join(',')}`);
    // Session setup: the bundle came from process A, the PreKey message goes through process B
    // (the handed-out prekey's private half must be found across processes), the reply comes
    // from A. The rounds below are then Whisper messages.
    for (const [i, device] of onA.entries()) {
      await device.peer.processBundle({ name: business.pnid, deviceId: 1 }, bundles[2 * i]!.bundle);
      const hello = await onB[i]!.sendText(business.pnid, 'hello');
      assert.equal(hello.status, 202, hello.text);
      assert.equal((await sendText(a.handle, business, `+${users[i]}`, 'welcome')).status, 200);
      assert.equal((await device.inbox()).length, 1);
      onB[i]!.cursor = device.cursor;
    }

    // Rounds: each user sends one message through A and one through B concurrently (each
    // device's messages are encrypted in order, posted at once), while the business sends
    // through both processes at once. Every message must be accepted and decrypt.
    const inboundIds: string[] = [];
    const outboundIds = new Map<string, string[]>(users.map((u) => [u, []]));
    for (let round = 0; round < 4; round++) {
      const posts: Promise<void>[] = [];
      for (const [i, waId] of users.entries()) {
        const first = await onA[i]!.encrypt(business.pnid, { type: 'text', text: { body: `r${round} via A` } });
        const second = await onA[i]!.encrypt(business.pnid, { type: 'text', text: { body: `r${round} via B` } });
        posts.push(
          onA[i]!.postCiphertext(business.pnid, first).then((answer) => {
            assert.equal(answer.status, 202, answer.text);
            inboundIds.push(answer.body.id);
          }),
          onB[i]!.postCiphertext(business.pnid, second).then((answer) => {
            assert.equal(answer.status, 202, answer.text);
            inboundIds.push(answer.body.id);
          }),
        );
        for (const server of [a, b]) {
          posts.push(
            sendText(server.handle, business, `+${waId}`, `round ${round}`).then((answer) => {
              assert.equal(answer.status, 200, answer.text);
              outboundIds.get(waId)!.push(answer.body.messages[0].id);
            }),
          );
        }
      }
      await Promise.all(posts);
      // Each device reads its inbox (alternating processes) and decrypts everything.
      for (const [i, waId] of users.entries()) {
        const reader = round % 2 ? onB[i]! : onA[i]!;
        const messages = await reader.inbox();
        onA[i]!.cursor = onB[i]!.cursor = reader.cursor;
        for (const m of messages) assert.equal(m.plaintext.text.body, `round ${round}`);
        assert.equal(messages.length, 2, `${waId} round ${round}`);
      }
    }
    await eventually(() => inboundIds.every((id) => receiver.messages.some((m) => m.id === id)), 30_000);
    assert.equal(inboundIds.length, users.length * 2 * 4);
    assert.equal(receiver.badSignatures, 0);
  } finally {
    await receiver.close();
  }
});

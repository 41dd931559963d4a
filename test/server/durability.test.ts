/**
 * Durability on the PostgreSQL store (issue 6): under load, `kill -9` the server process, start
 * it again on the same database:
 * - every message that was acknowledged (202 inbound, 200 outbound) is still there or delivered;
 * - every session still decrypts the next message, both ways;
 * - no one-time prekey is handed out twice, across both server lifetimes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDevice, call, createBusiness, eventually, sendText, type TestBusiness } from './test-client.js';
import { WebhookReceiver } from './webhook-receiver.js';
import { freePort, startServerProcess, testMasterKey, type ServerProcess } from './durability-process.js';
import { createTestDatabase, type TestDatabase } from '../store/postgres-database.js';

let db: TestDatabase;
const running: ServerProcess[] = [];

before(async () => {
  db = await createTestDatabase('sigload_durability');
});
after(async () => {
  for (const p of running) await p.stop();
  await db?.drop();
});

async function auditMessageKeys(server: ServerProcess): Promise<Set<string>> {
  const answer = await call(server.handle, 'GET', '/admin/v1/audit/records?region=US', 'admin-token');
  assert.equal(answer.status, 200, answer.text);
  const keys = new Set<string>();
  for (const line of answer.text.split('\n')) {
    if (!line.trim()) continue;
    const record = JSON.parse(line) as { kind: string; key: string };
    if (record.kind === 'message') keys.add(record.key);
  }
  return keys;
}

test('kill -9 under load loses no acknowledged message, no session, and reuses no one-time prekey', { timeout: 120_000 }, async (t) => {
  const port = await freePort();
  const masterKey = testMasterKey();
  const receiver = new WebhookReceiver();
  await receiver.start();
  try {
    let server = await startServerProcess(db.url, port, masterKey);
    running.push(server);
    const business: TestBusiness = await createBusiness(server.handle, receiver);
    const users = ['4915100000001', '4915100000002', '4915100000003', '4915100000004'];
    const devices: TestDevice[] = [];
    for (const waId of users) devices.push(await TestDevice.register(server.handle, waId, 1, 5));
    const bundleDevice = await TestDevice.register(server.handle, '4915100000099', 1, 1);

    // Sessions both ways before the load: a PreKey message in, a reply out and read.
    const handedOut: number[] = [];
    for (const device of devices) {
      const { bundle } = await device.fetchBundle(business.pnid);
      if (bundle.oneTimePreKeyId !== undefined) handedOut.push(bundle.oneTimePreKeyId);
      await device.peer.processBundle({ name: business.pnid, deviceId: 1 }, bundle);
      assert.equal((await device.sendText(business.pnid, 'hello')).status, 202);
      assert.equal((await sendText(server.handle, business, `+${device.waId}`, 'welcome')).status, 200);
      assert.equal((await device.inbox()).length, 1);
    }

    // Load: devices send, the business answers, a device keeps fetching bundles; kill -9 midway.
    const ackedInbound: string[] = [];
    const ackedOutbound = new Map<string, string[]>(users.map((u) => [u, []]));
    let stop = false;
    const guard = async (work: () => Promise<void>) => {
      while (!stop) {
        try {
          await work();
        } catch {
          return; // the server is gone
        }
      }
    };
    const loops = [
      ...devices.map((device, i) =>
        guard(async () => {
          const answer = await device.sendText(business.pnid, `load ${i}`);
          if (answer.status === 202) ackedInbound.push(answer.body.id as string);
          else await new Promise((r) => setTimeout(r, 20));
        }),
      ),
      guard(async () => {
        for (const waId of users) {
          const answer = await sendText(server.handle, business, `+${waId}`, `reply to ${waId}`);
          if (answer.status === 200) ackedOutbound.get(waId)!.push(answer.body.messages[0].id as string);
        }
      }),
      guard(async () => {
        const { bundle } = await bundleDevice.fetchBundle(business.pnid);
        if (bundle.oneTimePreKeyId !== undefined) handedOut.push(bundle.oneTimePreKeyId);
      }),
    ];
    // Kill once the load is well under way (or after 30 s on a very busy machine).
    const loadDeadline = Date.now() + 30_000;
    await eventually(() => (ackedInbound.length >= 8 && [...ackedOutbound.values()].every((ids) => ids.length >= 1)) || Date.now() > loadDeadline, 60_000);
    await server.kill9();
    stop = true;
    await Promise.all(loops);
    assert.ok(ackedInbound.length > 0 && [...ackedOutbound.values()].flat().length > 0, 'the load was acknowledged before the kill');
    t.diagnostic(`acknowledged before kill -9: ${ackedInbound.length} inbound, ${[...ackedOutbound.values()].flat().length} outbound, ${handedOut.length} bundles`);

    // Restart on the same database and port.
    server = await startServerProcess(db.url, port, masterKey);
    running.push(server);

    // 1. Every acknowledged inbound message is stored or was delivered.
    const stored = await auditMessageKeys(server);
    const delivered = new Set(receiver.messages.map((m) => m.id));
    const lost = ackedInbound.filter((id) => !delivered.has(id) && !stored.has(`${business.pnid}/${id}`));
    assert.deepEqual(lost, [], 'acknowledged inbound messages lost by kill -9');

    // 2. Every acknowledged outbound message is in its device's inbox and decrypts.
    for (const device of devices) {
      const received = await device.inbox();
      const ids = new Set(received.map((m) => m.id));
      const missing = ackedOutbound.get(device.waId)!.filter((id) => !ids.has(id));
      assert.deepEqual(missing, [], `acknowledged outbound messages missing for ${device.waId}`);
    }

    // 3. Every session still decrypts the next message, both ways.
    for (const device of devices) {
      const answer = await device.sendText(business.pnid, 'after restart');
      assert.equal(answer.status, 202, answer.text);
      const id = answer.body.id as string;
      await eventually(() => receiver.messages.some((m) => m.id === id), 20_000);
      const reply = await sendText(server.handle, business, `+${device.waId}`, 'still here');
      assert.equal(reply.status, 200, reply.text);
      const next = await device.inbox();
      assert.ok(next.some((m) => m.id === reply.body.messages[0].id && m.plaintext.text.body === 'still here'));
    }

    // 4. No one-time prekey handed out twice, across both lifetimes.
    for (let i = 0; i < 5; i++) {
      const { bundle } = await bundleDevice.fetchBundle(business.pnid);
      if (bundle.oneTimePreKeyId !== undefined) handedOut.push(bundle.oneTimePreKeyId);
    }
    assert.equal(new Set(handedOut).size, handedOut.length, `one-time prekeys handed out twice: ${handedOut.join(',')}`);
  } finally {
    await receiver.close();
  }
});

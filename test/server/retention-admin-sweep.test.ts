/**
 * The admin sweep holds retention when it answers (issue 14, item 4), in the order a user runs
 * it: receipts, a template to a new user, +31 days on the virtual clock, the admin sweep, the
 * audit at once. A background sweep that started before the clock moved (its cutoff is stale)
 * is held mid-way while the admin sweep is asked for, so the admin sweep must wait for it and
 * then sweep on the clock's time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REGIONS } from '../../src/store/store.js';
import { TestDevice, call, createBusiness, eventually, sendTemplate, sendText } from './test-client.js';
import { startTestServer } from './test-server.js';

test('admin sweep after +31 days: answers with what was deleted, nothing past retention at rest', async () => {
  const t = await startTestServer({ retention: {} });
  const { server } = t;
  try {
    const business = await createBusiness(server, t.receiver);
    const customer = await TestDevice.register(server, '4933000000001', 1);
    await customer.startSession(business.pnid);
    assert.equal((await customer.sendText(business.pnid, 'hello')).status, 202);
    assert.equal((await sendText(server, business, customer.waId, 'hi back')).status, 200);
    const inbox = await customer.inbox();
    assert.equal((await customer.receipts(inbox.map((m) => m.id), 'read')).status, 204);
    const newcomer = await TestDevice.register(server, '4933000000002', 1);
    assert.equal((await sendTemplate(server, business, newcomer.waId)).status, 200);
    await eventually(() => t.receiver.statuses.length >= 3);
    await server.settled();

    // Hold the first background sweep (started by the clock advance, cutoff 1 h after now).
    const store = t.store as { sweepUsers: typeof t.store.sweepUsers };
    const sweepUsers = store.sweepUsers.bind(t.store);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    let held = false;
    store.sweepUsers = async (cutoffMs, options) => {
      if (calls++ === 0) {
        held = true;
        await gate;
      }
      return sweepUsers(cutoffMs, options);
    };
    assert.equal((await call(server, 'POST', '/admin/v1/clock', server.adminToken, { advance_ms: 31 * 86_400_000 })).status, 200);
    await eventually(() => held);
    const sweeping = call(server, 'POST', '/admin/v1/retention/sweep', server.adminToken);
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    const sweep = await sweeping;
    assert.equal(sweep.status, 200, sweep.text);
    assert.equal(sweep.body.user_ids_deleted, 2);
    assert.ok(sweep.body.messages_deleted > 0);

    // At once: only business data is left.
    const left: string[] = [];
    for (const region of REGIONS) {
      const audit = await call(server, 'GET', `/admin/v1/audit/records?region=${region}`, server.adminToken);
      for (const line of audit.text.split('\n')) {
        if (line === '') continue;
        const record = JSON.parse(line) as { kind: string; key: string };
        if (record.kind !== 'business' && record.kind !== 'business_key') left.push(`${record.kind} ${record.key}`);
      }
    }
    assert.deepEqual(left, []);
  } finally {
    await t.close();
  }
});

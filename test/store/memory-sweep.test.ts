/** Property: whatever the times, bucket width, cutoff and batch size, a sweep leaves exactly the records at or after the cutoff. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryStore } from '../../src/store/memory/index.js';
import type { BusinessRecord } from '../../src/store/store.js';

const T0 = Date.UTC(2026, 0, 1);
const sealed = new Uint8Array([1]);

test('sweepMessageData removes exactly the records created before the cutoff, in any batch size', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        bucketMs: fc.constantFrom(1, 7, 100, 3_600_000),
        // Small time ranges so that records at exactly the cutoff and at bucket edges are common.
        messages: fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 60 }),
        sortMessages: fc.boolean(),
        statuses: fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 40 }),
        inbox: fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 40 }),
        webhooks: fc.array(fc.record({ at: fc.integer({ min: 0, max: 500 }), acked: fc.boolean() }), { maxLength: 30 }),
        cutoff: fc.integer({ min: 0, max: 501 }),
        cutoffAtRecord: fc.option(fc.nat(), { freq: 2 }),
        batch: fc.integer({ min: 1, max: 50 }),
        regionDe: fc.boolean(),
      }),
      async (c) => {
        const store = new MemoryStore({ bucket_ms: c.bucketMs, webhook_queue_capacity: 1_000 });
        const business: BusinessRecord = { phone_number_id: '1', waba_id: 'w', region: c.regionDe ? 'DE' : 'US', access_token_hash: 'h', created_at_ms: T0, wrapped_data_key: sealed, sealed_profile: sealed };
        await store.createBusiness(business);
        await store.registerDevice({ wa_id: '155', device_id: 1, token_hash: 't', registered_at_ms: T0, sealed_keys: sealed }, []);
        if (c.sortMessages) c.messages.sort((a, b) => a - b);
        await store.appendMessages(c.messages.map((t, i) => ({ phone_number_id: '1', id: `m${i}`, wa_id: '155', created_at_ms: T0 + t, sealed })));
        await store.recordStatuses(c.statuses.map((t, i) => ({ phone_number_id: '1', id: `s${i}`, wa_id: '155', status: 'sent' as const, at_ms: T0 + t, sealed })));
        await store.appendInbox(c.inbox.map((t, i) => ({ phone_number_id: '1', wa_id: '155', device_id: 1, id: `i${i}`, created_at_ms: T0 + t, sealed })));
        await store.enqueueWebhooks(c.webhooks.map((w, i) => ({ phone_number_id: '1', id: `w${i}`, created_at_ms: T0 + w.at, due_at_ms: T0 + w.at, attempts: 0, sealed })));
        await store.ackWebhooks('1', c.webhooks.flatMap((w, i) => (w.acked ? [`w${i}`] : [])));

        // Often exactly at a record's time: the boundary the sweep must get right.
        const all = [...c.messages, ...c.statuses, ...c.inbox, ...c.webhooks.map((w) => w.at)];
        const cutoff = T0 + (c.cutoffAtRecord !== null && all.length > 0 ? all[c.cutoffAtRecord % all.length]! : c.cutoff);
        let deleted = 0;
        for (let calls = 0; ; calls++) {
          assert.ok(calls < 10_000, 'sweep terminates');
          const r = await store.sweepMessageData(cutoff, { max_records: c.batch });
          deleted += r.messages_deleted;
          if (r.done) break;
        }
        const live = (times: number[]) => times.filter((t) => T0 + t >= cutoff).length;
        const liveWebhooks = c.webhooks.filter((w) => !w.acked);
        const expected =
          c.messages.length - live(c.messages) + c.statuses.length - live(c.statuses) + c.inbox.length - live(c.inbox) + liveWebhooks.length - live(liveWebhooks.map((w) => w.at));
        assert.equal(deleted, expected);
        const m = await store.metrics();
        assert.equal(m.messages, live(c.messages));
        assert.equal(m.statuses, live(c.statuses));
        assert.equal(m.inbox_entries, live(c.inbox));
        assert.equal(m.webhook_queue_depth, live(liveWebhooks.map((w) => w.at)));
        const page = await store.readInbox('155', 1, 0, 1_000);
        assert.deepEqual(
          page.entries.map((e) => e.id).sort(),
          c.inbox.flatMap((t, i) => (T0 + t >= cutoff ? [`i${i}`] : [])).sort(),
        );
        const counts = new Map<string, number>();
        for await (const r of store.auditRecords(business.region)) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
        assert.equal(counts.get('message') ?? 0, live(c.messages));
        assert.equal(counts.get('status') ?? 0, live(c.statuses));
        assert.equal(counts.get('inbox') ?? 0, live(c.inbox));
        assert.equal(counts.get('webhook') ?? 0, live(liveWebhooks.map((w) => w.at)));
        for (let i = 0; i < c.statuses.length; i++) {
          assert.equal((await store.listStatuses('1', `s${i}`)).length, T0 + c.statuses[i]! >= cutoff ? 1 : 0);
        }
        // A second sweep at the same cutoff finds nothing.
        assert.deepEqual(await store.sweepMessageData(cutoff, { max_records: c.batch }), { messages_deleted: 0, done: true });
      },
    ),
    { numRuns: 150 },
  );
});

test('sweepUsers removes exactly the users idle before the cutoff, in any batch size', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.integer({ min: 0, max: 300_000 }), { minLength: 1, maxLength: 4 }), { maxLength: 25 }),
      fc.integer({ min: 0, max: 300_001 }),
      fc.option(fc.nat(), { freq: 2 }),
      fc.integer({ min: 1, max: 5 }),
      async (users, cutoffOffset, cutoffAtUser, batch) => {
        const store = new MemoryStore({ bucket_ms: 60_000 });
        await store.createBusiness({ phone_number_id: '1', waba_id: 'w', region: 'GB', access_token_hash: 'h', created_at_ms: T0, wrapped_data_key: sealed, sealed_profile: sealed });
        for (const [u, times] of users.entries()) {
          const waId = `1555${u}`;
          await store.registerDevice({ wa_id: waId, device_id: 1, token_hash: `t${u}`, registered_at_ms: T0 + times[0]!, sealed_keys: sealed }, []);
          await store.putSession('1', waId, 1, sealed, 0);
          for (const t of times.slice(1)) await store.recordStatuses([{ phone_number_id: '1', id: `x${u}.${t}`, wa_id: waId, status: 'read', at_ms: T0 + t, sealed }]);
        }
        // Often exactly at a user's last activity: that user must stay.
        const cutoff = T0 + (cutoffAtUser !== null && users.length > 0 ? Math.max(...users[cutoffAtUser % users.length]!) : cutoffOffset);
        let deleted = 0;
        for (;;) {
          const r = await store.sweepUsers(cutoff, { max_users: batch });
          deleted += r.user_ids_deleted;
          if (r.done) break;
        }
        const idle = users.map((times) => T0 + Math.max(...times) < cutoff);
        assert.equal(deleted, idle.filter(Boolean).length);
        for (const [u, isIdle] of idle.entries()) {
          assert.equal((await store.getContact(`1555${u}`)) === undefined, isIdle);
          assert.equal((await store.getDeviceByTokenHash(`t${u}`)) === undefined, isIdle);
          assert.equal((await store.getSession('1', `1555${u}`, 1)) === undefined, isIdle);
          const hadStatuses = users[u]!.length > 1;
          assert.equal((await store.getConversation('1', `1555${u}`)) === undefined, isIdle || !hadStatuses);
        }
        const m = await store.metrics();
        assert.equal(m.contacts, idle.filter((x) => !x).length);
        assert.equal(m.sessions, idle.filter((x) => !x).length);
      },
    ),
    { numRuns: 150 },
  );
});

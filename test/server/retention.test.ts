import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AtRest } from '../../src/server/at-rest.js';
import { DAY_MS, HOUR_MS, VirtualClock } from '../../src/server/clock.js';
import { RetentionSchedule, retentionSweep } from '../../src/server/retention.js';
import { MemoryStore } from '../../src/store/memory/index.js';
import { REGIONS, recordKey } from '../../src/store/store.js';
import type { AuditRecord, BusinessRecord, MessageRecord, Store } from '../../src/store/store.js';
import { createBusiness, registerDevice, utf8 } from '../store/fixtures.js';

async function collect(store: Store): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (const region of REGIONS) for await (const r of store.auditRecords(region)) out.push(r);
  return out;
}

function message(b: BusinessRecord, id: string, waId: string, atMs: number): MessageRecord {
  return { phone_number_id: b.phone_number_id, id, wa_id: waId, created_at_ms: atMs, sealed: utf8.encode(`m-${id}`) };
}

test('after 31 days: no message data and no identifiers of inactive users remain; business data and 29-day-old records kept', async () => {
  const clock = new VirtualClock();
  const T0 = clock.now();
  const store = new MemoryStore({ now: () => clock.now() });
  const atRest = new AtRest();
  const us = await createBusiness(store, atRest, { region: 'US', now_ms: T0 });
  const de = await createBusiness(store, atRest, { region: 'DE', now_ms: T0 });
  await store.putBusinessIdentity({ phone_number_id: de.phone_number_id, sealed: utf8.encode('identity'), updated_at_ms: T0 });
  await store.addBusinessPreKeys(de.phone_number_id, [{ id: 1, sealed: utf8.encode('pk') }]);

  // Inactive user: registered, wrote, got statuses, had sessions and inbox entries at T0.
  const old = await registerDevice(store, atRest, '15550000001', 1, T0, 3);
  await store.appendMessages([message(de, 'wamid.old1', '15550000001', T0), message(us, 'wamid.old2', '15550000001', T0 + 1)]);
  await store.appendInbox([{ phone_number_id: de.phone_number_id, wa_id: '15550000001', device_id: 1, id: 'wamid.o', created_at_ms: T0, sealed: utf8.encode('c') }]);
  await store.recordStatuses([{ phone_number_id: de.phone_number_id, id: 'wamid.o', wa_id: '15550000001', status: 'sent', at_ms: T0, sealed: utf8.encode('s') }]);
  await store.putSession(de.phone_number_id, '15550000001', 1, utf8.encode('session'), 0);
  await store.enqueueWebhooks([{ phone_number_id: de.phone_number_id, id: 'wamid.o:sent', created_at_ms: T0, due_at_ms: T0, attempts: 0, sealed: utf8.encode('w') }]);
  // A user registered at T0 who never messaged: deleted 30 days after registration.
  await registerDevice(store, atRest, '15550000002', 1, T0);

  // Active user: registered at T0 but with a status update 2 days later.
  clock.advance(2 * DAY_MS);
  await registerDevice(store, atRest, '15550000003', 1, T0);
  await store.appendMessages([message(de, 'wamid.new', '15550000003', clock.now())]);
  await store.recordStatuses([{ phone_number_id: de.phone_number_id, id: 'wamid.n', wa_id: '15550000003', status: 'read', at_ms: clock.now(), sealed: utf8.encode('s2') }]);

  clock.advance(29 * DAY_MS); // now T0 + 31 d
  const result = await retentionSweep(store, clock);
  assert.equal(result.messages_deleted, 2 + 1 + 1 + 1, 'two messages, one inbox entry, one status, one webhook piece');
  assert.equal(result.user_ids_deleted, 2);
  assert.ok(result.duration_ms >= 0);

  assert.equal(await store.getContact('15550000001'), undefined);
  assert.equal(await store.getContact('15550000002'), undefined);
  assert.equal(await store.getDeviceByTokenHash(old.token_hash), undefined);
  assert.equal(await store.getSession(de.phone_number_id, '15550000001', 1), undefined);
  assert.equal(await store.getConversation(de.phone_number_id, '15550000001'), undefined);
  assert.equal(await store.getConversation(us.phone_number_id, '15550000001'), undefined);
  assert.equal((await store.readInbox('15550000001', 1, 0, 100)).entries.length, 0);
  assert.equal(await store.webhookQueueDepth(), 0);
  assert.ok(await store.getContact('15550000003'), 'active user kept');
  assert.ok(await store.getConversation(de.phone_number_id, '15550000003'));

  const left = await collect(store);
  const keys = left.map((r) => `${r.region} ${r.kind} ${r.key}`);
  for (const kind of ['message', 'status'] as const) {
    assert.deepEqual(left.filter((r) => r.kind === kind).map((r) => r.key), [kind === 'message' ? recordKey.message(de.phone_number_id, 'wamid.new') : recordKey.status(de.phone_number_id, 'wamid.n', 'read')]);
  }
  assert.equal(left.filter((r) => r.kind === 'inbox' || r.kind === 'webhook' || r.kind === 'session').length, 0);
  assert.ok(!keys.some((k) => k.includes('15550000001') || k.includes('15550000002')), 'no identifier of an inactive user remains');
  // Business data kept.
  for (const k of [
    `US business ${us.phone_number_id}`,
    `DE business ${de.phone_number_id}`,
    `DE business_key ${recordKey.businessDataKey(de.phone_number_id)}`,
    `DE business_key ${recordKey.businessIdentity(de.phone_number_id)}`,
    `DE business_key ${recordKey.businessPreKey(de.phone_number_id, 1)}`,
  ]) assert.ok(keys.includes(k), k);
  assert.equal((await store.metrics()).businesses, 2);
});

test('edge bucket: records exactly 30 days old go, one millisecond younger stay, sorted or not', async () => {
  for (const order of ['sorted', 'unsorted'] as const) {
    const clock = new VirtualClock(Date.UTC(2026, 2, 1, 12, 30));
    const store = new MemoryStore();
    const b = await createBusiness(store, new AtRest());
    const base = clock.now();
    // Same hour bucket: base-30min … base+29min.
    const times = Array.from({ length: 60 }, (_, i) => base - 30 * 60_000 + i * 60_000);
    if (order === 'unsorted') times.reverse();
    await store.appendMessages(times.map((t, i) => message(b, `wamid.${i}`, '15550000009', t)));
    clock.advance(30 * DAY_MS); // cutoff = base: created ≤ base expire
    const r = await retentionSweep(store, clock);
    assert.equal(r.messages_deleted, 31, order);
    const left: number[] = [];
    for await (const a of store.auditRecords('US')) if (a.kind === 'message') left.push(Date.parse(a.stored_at));
    assert.equal(left.length, 29);
    assert.ok(left.every((t) => t > base), order);
    // A second sweep finds nothing more; one more minute takes the next one.
    assert.equal((await retentionSweep(store, clock)).messages_deleted, 0);
    clock.advance(60_000);
    assert.equal((await retentionSweep(store, clock)).messages_deleted, 1);
  }
});

test('bounded batches: many buckets and small batches give the same totals; cost follows what expires', async () => {
  const clock = new VirtualClock();
  const store = new MemoryStore();
  const atRest = new AtRest();
  const b = await createBusiness(store, atRest, { region: 'SG' });
  await registerDevice(store, atRest, '15550000010', 1, clock.now());
  const sealed = utf8.encode('x');
  const start = clock.now();
  const N = 20_000;
  const records: MessageRecord[] = [];
  for (let i = 0; i < N; i++) records.push({ phone_number_id: b.phone_number_id, id: `wamid.${i}`, wa_id: '15550000010', created_at_ms: start + i * 60_000, sealed });
  await store.appendMessages(records);
  const statuses = records.slice(0, 5_000).map((m) => ({ phone_number_id: b.phone_number_id, id: m.id, wa_id: m.wa_id, status: 'sent' as const, at_ms: m.created_at_ms, sealed }));
  await store.recordStatuses(statuses);
  // Advance so that exactly the first 10,000 messages (and their 5,000 statuses) are older than 30 days.
  clock.advance(30 * DAY_MS + 9_999 * 60_000);
  const r = await retentionSweep(store, clock, { batchRecords: 100 });
  assert.equal(r.messages_deleted, 10_000 + 5_000);
  const m = await store.metrics();
  assert.equal(m.messages, 10_000);
  assert.equal(m.statuses, 0);
  assert.equal(r.user_ids_deleted, 0, 'the user wrote within 30 days');
});

test('RetentionSchedule sweeps on virtual time and keeps totals', async () => {
  const clock = new VirtualClock();
  const store = new MemoryStore();
  const b = await createBusiness(store, new AtRest());
  await store.appendMessages([message(b, 'wamid.1', '15550000020', clock.now())]);
  const schedule = new RetentionSchedule(store, clock, { intervalMs: HOUR_MS });
  schedule.start();
  clock.advance(30 * DAY_MS - 2 * HOUR_MS);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal((await store.metrics()).messages, 1, 'not yet 30 days');
  clock.advance(2 * HOUR_MS);
  await schedule.idle(); // includes the sweep a timer asked for while the previous one ran
  schedule.stop();
  assert.equal((await store.metrics()).messages, 0, 'gone within 30 days');
  assert.equal(schedule.totals.messages_deleted, 1);
  assert.equal(schedule.totals.user_ids_deleted, 1);
  assert.ok(schedule.totals.sweeps >= 2);
  assert.equal(clock.pendingTimers, 0);
});

test('a sweep yields to the event loop between batches (requests keep being served)', async () => {
  const clock = new VirtualClock();
  const store = new MemoryStore();
  const b = await createBusiness(store, new AtRest());
  const sealed = utf8.encode('s');
  await store.recordStatuses(Array.from({ length: 5_000 }, (_, i) => ({ phone_number_id: b.phone_number_id, id: `wamid.${i}`, wa_id: '15550000030', status: 'sent' as const, at_ms: clock.now() + i, sealed })));
  clock.advance(31 * 86_400_000);
  let ticks = 0;
  let sweeping = true;
  const tick = (): void => {
    ticks++;
    if (sweeping) setImmediate(tick);
  };
  setImmediate(tick);
  const r = await retentionSweep(store, clock, { batchRecords: 100 });
  sweeping = false;
  assert.equal(r.messages_deleted, 5_000);
  assert.ok(ticks >= 10, `other work ran ${ticks} times during a 50-batch sweep`);
});

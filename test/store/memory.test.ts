import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AtRest } from '../../src/server/at-rest.js';
import { MemoryStore } from '../../src/store/memory/index.js';
import { DueHeap } from '../../src/store/memory-buckets.js';
import { StoreError } from '../../src/store/store.js';
import type { WebhookItem } from '../../src/store/store.js';
import { createBusiness, registerDevice, utf8 } from './fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
const isKind = (kind: string) => (e: unknown) => e instanceof StoreError && e.kind === kind;

test('business lookups: by phone_number_id and by access-token hash; duplicates refused', async () => {
  const store = new MemoryStore();
  const atRest = new AtRest();
  const b = await createBusiness(store, atRest, { region: 'DE' });
  assert.equal((await store.getBusiness(b.phone_number_id))?.waba_id, b.waba_id);
  assert.equal((await store.getBusinessByTokenHash(b.access_token_hash))?.phone_number_id, b.phone_number_id);
  assert.equal(await store.getBusinessByTokenHash('00'), undefined);
  await assert.rejects(store.createBusiness(b), isKind('exists'));
  await assert.rejects(store.createBusiness({ ...b, phone_number_id: 'other' }), isKind('exists'));
  await store.updateBusinessProfile(b.phone_number_id, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...(await store.getBusiness(b.phone_number_id))!.sealed_profile], [1, 2, 3]);
});

test('business one-time prekeys: concurrent takes never hand out the same key twice', async () => {
  const store = new MemoryStore();
  const b = await createBusiness(store, new AtRest());
  await store.addBusinessPreKeys(b.phone_number_id, Array.from({ length: 100 }, (_, i) => ({ id: i + 1, sealed: new Uint8Array([i]) })));
  assert.equal(await store.businessPreKeyCount(b.phone_number_id), 100);
  const taken = await Promise.all(Array.from({ length: 150 }, () => store.takeBusinessPreKey(b.phone_number_id)));
  const ids = taken.filter((k) => k !== undefined).map((k) => k!.id);
  assert.equal(ids.length, 100);
  assert.equal(new Set(ids).size, 100);
  assert.equal(taken.filter((k) => k === undefined).length, 50);
  assert.equal(await store.businessPreKeyCount(b.phone_number_id), 0);
});

test('device one-time prekeys: never twice; replacing a device revokes its token and drops sessions', async () => {
  const store = new MemoryStore();
  const atRest = new AtRest();
  const b1 = await createBusiness(store, atRest, { region: 'US' });
  const b2 = await createBusiness(store, atRest, { region: 'JP' });
  const d = await registerDevice(store, atRest, '15550001111', 1, T0, 20);
  const taken = await Promise.all(Array.from({ length: 30 }, () => store.takeDevicePreKey('15550001111', 1)));
  const ids = taken.filter((k) => k !== undefined).map((k) => k!.id);
  assert.equal(new Set(ids).size, 20);
  assert.equal(ids.length, 20);

  await store.putSession(b1.phone_number_id, '15550001111', 1, new Uint8Array([1]), 0);
  await store.putSession(b2.phone_number_id, '15550001111', 1, new Uint8Array([2]), 0);
  assert.equal((await store.metrics()).sessions, 2);
  assert.equal((await store.getDeviceByTokenHash(d.token_hash))?.device_id, 1);

  const d2 = await registerDevice(store, atRest, '15550001111', 1, T0 + 1000, 5);
  assert.equal(await store.getDeviceByTokenHash(d.token_hash), undefined, 'old token revoked');
  assert.equal((await store.getDeviceByTokenHash(d2.token_hash))?.registered_at_ms, T0 + 1000);
  assert.equal(await store.getSession(b1.phone_number_id, '15550001111', 1), undefined);
  assert.equal(await store.getSession(b2.phone_number_id, '15550001111', 1), undefined);
  assert.equal((await store.metrics()).sessions, 0);
  assert.equal(await store.devicePreKeyCount('15550001111', 1), 5);
  await registerDevice(store, atRest, '15550001111', 2, T0);
  assert.deepEqual((await store.listDevices('15550001111')).map((x) => x.device_id), [1, 2]);
});

test('session compare-and-set: a stale version is a conflict and writes nothing; versions never repeat', async () => {
  const store = new MemoryStore();
  const atRest = new AtRest();
  const b = await createBusiness(store, atRest);
  await registerDevice(store, atRest, '15550002222', 3, T0);
  const v1 = await store.putSession(b.phone_number_id, '15550002222', 3, new Uint8Array([1]), 0);
  await assert.rejects(store.putSession(b.phone_number_id, '15550002222', 3, new Uint8Array([9]), 0), isKind('conflict'));
  // Two writers read v1; only one wins.
  const results = await Promise.allSettled([
    store.putSession(b.phone_number_id, '15550002222', 3, new Uint8Array([2]), v1),
    store.putSession(b.phone_number_id, '15550002222', 3, new Uint8Array([3]), v1),
  ]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  assert.ok(results.some((r) => r.status === 'rejected' && isKind('conflict')(r.reason)));
  const now = await store.getSession(b.phone_number_id, '15550002222', 3);
  assert.deepEqual([...now!.sealed], [2]);
  // Drop and recreate: the old version must not match the new session (no ABA).
  await store.deleteSession(b.phone_number_id, '15550002222', 3);
  const v3 = await store.putSession(b.phone_number_id, '15550002222', 3, new Uint8Array([4]), 0);
  assert.notEqual(v3, v1);
  assert.notEqual(v3, now!.version);
  await assert.rejects(store.putSession(b.phone_number_id, '15550009999', 1, new Uint8Array([4]), 0), isKind('not-found'));
});

test('inbox: per-device ordered cursors across regions, read after cursor with limit', async () => {
  const store = new MemoryStore();
  const atRest = new AtRest();
  const us = await createBusiness(store, atRest, { region: 'US' });
  const de = await createBusiness(store, atRest, { region: 'DE' });
  await registerDevice(store, atRest, '15550003333', 1, T0);
  const cursors: number[] = [];
  for (let i = 0; i < 10; i++) {
    const b = i % 2 === 0 ? us : de;
    const [c] = await store.appendInbox([{ phone_number_id: b.phone_number_id, wa_id: '15550003333', device_id: 1, id: `wamid.${i}`, created_at_ms: T0 + i, sealed: new Uint8Array([i]) }]);
    cursors.push(c!);
  }
  assert.deepEqual(cursors, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const page1 = await store.readInbox('15550003333', 1, 0, 4);
  assert.deepEqual(page1.entries.map((e) => e.id), ['wamid.0', 'wamid.1', 'wamid.2', 'wamid.3']);
  assert.equal(page1.cursor, 4);
  const page2 = await store.readInbox('15550003333', 1, page1.cursor, 100);
  assert.deepEqual(page2.entries.map((e) => e.cursor), [5, 6, 7, 8, 9, 10]);
  const page3 = await store.readInbox('15550003333', 1, page2.cursor, 100);
  assert.deepEqual(page3, { entries: [], cursor: 10 });
  await assert.rejects(store.appendInbox([{ phone_number_id: us.phone_number_id, wa_id: '15550003333', device_id: 9, id: 'x', created_at_ms: T0, sealed: new Uint8Array() }]), isKind('not-found'));
});

test('messages, statuses, conversations: service window and user activity follow them', async () => {
  const store = new MemoryStore();
  const atRest = new AtRest();
  const b = await createBusiness(store, atRest, { region: 'BR' });
  await store.appendMessages([
    { phone_number_id: b.phone_number_id, id: 'wamid.a', wa_id: '15550004444', created_at_ms: T0 + 5, sealed: new Uint8Array([1]) },
    { phone_number_id: b.phone_number_id, id: 'wamid.b', wa_id: '15550004444', created_at_ms: T0 + 9, sealed: new Uint8Array([2]) },
  ]);
  assert.equal((await store.getConversation(b.phone_number_id, '15550004444'))?.last_inbound_ms, T0 + 9);
  assert.equal((await store.getContact('15550004444'))?.last_activity_ms, T0 + 9);
  await store.recordStatuses([
    { phone_number_id: b.phone_number_id, id: 'wamid.out', wa_id: '15550004444', status: 'sent', at_ms: T0 + 20, sealed: new Uint8Array([3]) },
    { phone_number_id: b.phone_number_id, id: 'wamid.out', wa_id: '15550004444', status: 'read', at_ms: T0 + 30, sealed: new Uint8Array([4]) },
  ]);
  assert.deepEqual((await store.listStatuses(b.phone_number_id, 'wamid.out')).map((s) => s.status), ['sent', 'read']);
  assert.equal((await store.getConversation(b.phone_number_id, '15550004444'))?.last_status_ms, T0 + 30);
  assert.equal((await store.getContact('15550004444'))?.last_activity_ms, T0 + 30);
  await store.reportSpam(b.phone_number_id, '15550004444', T0 + 40);
  assert.equal((await store.getConversation(b.phone_number_id, '15550004444'))?.reported_spam_ms, T0 + 40);
  await assert.rejects(store.appendMessages([{ phone_number_id: 'nope', id: 'x', wa_id: '1', created_at_ms: T0, sealed: new Uint8Array() }]), isKind('not-found'));
  const m = await store.metrics();
  assert.equal(m.messages, 2);
  assert.equal(m.statuses, 2);
});

function webhookItem(pnid: string, id: string, nowMs: number): WebhookItem {
  return { phone_number_id: pnid, id, created_at_ms: nowMs, due_at_ms: nowMs, attempts: 0, sealed: utf8.encode(`sealed-${id}`) };
}

test('webhook queue: bounded, all-or-nothing refusal with queue-full, claim with lease, ack, reschedule', async () => {
  const store = new MemoryStore({ webhook_queue_capacity: 5 });
  const atRest = new AtRest();
  const b = await createBusiness(store, atRest);
  const other = await createBusiness(store, atRest, { region: 'GB' });
  await store.enqueueWebhooks([1, 2, 3].map((i) => webhookItem(b.phone_number_id, `w${i}`, T0 + i)));
  await assert.rejects(store.enqueueWebhooks([4, 5, 6].map((i) => webhookItem(b.phone_number_id, `w${i}`, T0 + i))), isKind('queue-full'));
  assert.equal(await store.webhookQueueDepth(b.phone_number_id), 3, 'refused batch stored nothing');
  await store.enqueueWebhooks([webhookItem(b.phone_number_id, 'w1', T0)]); // duplicate id: idempotent
  await store.enqueueWebhooks([4, 5].map((i) => webhookItem(b.phone_number_id, `w${i}`, T0 + i)));
  await assert.rejects(store.enqueueWebhooks([webhookItem(b.phone_number_id, 'w6', T0)]), isKind('queue-full'));
  await store.enqueueWebhooks([webhookItem(other.phone_number_id, 'o1', T0)]); // other business: own bound
  assert.equal(await store.webhookQueueDepth(), 6);

  const first = await store.claimWebhooks(T0 + 3, { limit: 10, lease_ms: 1000 });
  assert.deepEqual(first.map((i) => i.id).sort(), ['o1', 'w1', 'w2', 'w3']);
  assert.deepEqual(await store.claimWebhooks(T0 + 3, { limit: 10, lease_ms: 1000 }), [], 'leased items are not claimed again');
  await store.ackWebhooks(b.phone_number_id, ['w1', 'w2']);
  await store.rescheduleWebhook(b.phone_number_id, 'w3', T0 + 5000, 1);
  const later = await store.claimWebhooks(T0 + 1003, { limit: 10, lease_ms: 1000, phone_number_id: b.phone_number_id });
  assert.deepEqual(later.map((i) => i.id), ['w4', 'w5']);
  assert.equal(await store.nextWebhookDueMs(), T0 + 1003, 'o1 lease runs out first');
  await store.ackWebhooks(b.phone_number_id, ['w4', 'w5']);
  const w3 = await store.claimWebhooks(T0 + 5000, { limit: 1, lease_ms: 10, phone_number_id: b.phone_number_id });
  assert.deepEqual(w3.map((i) => [i.id, i.attempts]), [['w3', 1]]);
  assert.equal(await store.webhookQueueDepth(b.phone_number_id), 1);
  await store.enqueueWebhooks([6, 7].map((i) => webhookItem(b.phone_number_id, `w${i}`, T0))); // room again after acks
});

test('webhook claims: oldest due first across businesses; skip and per-business hints are honoured', async () => {
  const store = new MemoryStore();
  const atRest = new AtRest();
  const a = await createBusiness(store, atRest);
  const b = await createBusiness(store, atRest, { region: 'CA' });
  await store.enqueueWebhooks([0, 2, 4].map((t) => webhookItem(a.phone_number_id, `a${t}`, T0 + t)));
  await store.enqueueWebhooks([1, 3, 5].map((t) => webhookItem(b.phone_number_id, `b${t}`, T0 + t)));
  assert.deepEqual((await store.claimWebhooks(T0 + 10, { limit: 4, lease_ms: 100 })).map((i) => i.id), ['a0', 'b1', 'a2', 'b3']);
  assert.deepEqual((await store.claimWebhooks(T0 + 10, { limit: 10, lease_ms: 100, skip_phone_number_ids: new Set([a.phone_number_id]) })).map((i) => i.id), ['b5']);
  const one = await store.claimWebhooks(T0 + 200, { limit: 10, lease_ms: 100, per_business_limit: 1 });
  assert.equal(one.length, 2);
  assert.equal(one[0]!.id, 'a4', 'never claimed, due at T0+4: older than the leases that ran out at T0+110');
  assert.equal(one[1]!.phone_number_id, b.phone_number_id);
});

test('DueHeap: pops current entries in due order, drops stale ones, and compaction keeps exactly the current ones', () => {
  let seed = 7;
  const random = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const heap = new DueHeap();
  const generation = new Map<string, number>();
  for (let i = 0; i < 2_000; i++) {
    const id = `p${i % 500}`;
    const g = (generation.get(id) ?? -1) + 1;
    generation.set(id, g);
    heap.push(Math.floor(random() * 10_000), id, g);
  }
  const isCurrent = (id: string, g: number): boolean => generation.get(id) === g;
  assert.equal(heap.size, 2_000);
  assert.equal(heap.compact(isCurrent, generation.size), true, '1,500 stale entries of 2,000');
  assert.equal(heap.size, 500);
  assert.equal(heap.compact(isCurrent, generation.size), false);
  const popped: number[] = [];
  const seen = new Set<string>();
  for (let top = heap.peek(isCurrent); top !== undefined; top = heap.peek(isCurrent)) {
    popped.push(top.dueMs);
    assert.equal(seen.has(top.id), false);
    seen.add(top.id);
    heap.pop();
  }
  assert.equal(popped.length, 500);
  assert.deepEqual(popped, [...popped].sort((a, b) => a - b));
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresStore, regionSchema } from '../../src/store/postgres/index.js';
import { listPartitions, partitionName } from '../../src/store/postgres-partitions.js';
import { StoreError } from '../../src/store/store.js';
import type { BusinessRecord, Region } from '../../src/store/store.js';
import { createTestDatabase } from './postgres-database.js';
import type { TestDatabase } from './postgres-database.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 10, 12); // mid-day, so +31 days is well past 30
let db: TestDatabase;
let store: PostgresStore;
let second: PostgresStore; // another "process" on the same database

const sealed = (text: string): Uint8Array => new TextEncoder().encode(`sealed:${text}`);

function business(pnid: string, region: Region = 'US'): BusinessRecord {
  return {
    phone_number_id: pnid,
    waba_id: `waba${pnid}`,
    region,
    access_token_hash: `hash-${pnid}`,
    created_at_ms: T0,
    wrapped_data_key: sealed(`dk-${pnid}`),
    sealed_profile: sealed(`profile-${pnid}`),
  };
}

async function device(s: PostgresStore, waId: string, deviceId = 1, preKeys = 0): Promise<void> {
  await s.registerDevice(
    { wa_id: waId, device_id: deviceId, token_hash: `tok-${waId}-${deviceId}-${Math.random()}`, registered_at_ms: T0, sealed_keys: sealed(`keys-${waId}`) },
    Array.from({ length: preKeys }, (_, i) => ({ id: i + 1, sealed: sealed(`dpk-${i + 1}`) })),
  );
}

before(async () => {
  db = await createTestDatabase('sigload_store');
  // Two stores opening at once: migrations serialize on their advisory lock.
  [store, second] = await Promise.all([PostgresStore.open({ database_url: db.url }), PostgresStore.open({ database_url: db.url })]);
});

after(async () => {
  await store?.close();
  await second?.close();
  await db?.drop();
});

test('migrations ran once into versioned ledgers; the home region schema exists', async () => {
  const { rows } = await store.pool.query<{ version: number }>('SELECT version FROM sigload.schema_migrations ORDER BY version');
  assert.deepEqual(rows.map((r) => r.version), [1, 2, 3]);
  const home = await store.pool.query<{ version: number }>(`SELECT version FROM ${regionSchema('US')}.schema_migrations ORDER BY version`);
  assert.deepEqual(home.rows.map((r) => r.version), [1, 2, 3, 4]);
  const again = await PostgresStore.open({ database_url: db.url });
  await again.close();
  const after = await store.pool.query('SELECT count(*)::int AS n FROM sigload.schema_migrations');
  assert.equal(after.rows[0].n, 3);
});

test('businesses: create, find by id and token, duplicates refused, region schema made on demand', async () => {
  await store.createBusiness(business('1001'));
  await store.createBusiness(business('2001', 'DE'));
  assert.equal((await second.getBusiness('1001'))?.waba_id, 'waba1001');
  assert.deepEqual((await second.getBusinessByTokenHash('hash-2001'))?.sealed_profile, sealed('profile-2001'));
  await assert.rejects(store.createBusiness(business('1001')), (e: unknown) => e instanceof StoreError && e.kind === 'exists');
  const schemas = await store.pool.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'region_%' ORDER BY 1`);
  assert.deepEqual(schemas.rows.map((r) => r.nspname), ['region_de', 'region_us']);
  await store.updateBusinessProfile('2001', sealed('profile2'));
  assert.deepEqual((await second.getBusiness('2001'))?.sealed_profile, sealed('profile2'));
  await assert.rejects(store.updateBusinessProfile('9999', sealed('x')), (e: unknown) => e instanceof StoreError && e.kind === 'not-found');
  assert.ok((await store.listBusinesses()).length >= 2);
});

test('one-time prekeys: 200 concurrent takes from two processes never hand out the same key twice', async () => {
  await store.createBusiness(business('1002'));
  await store.addBusinessPreKeys('1002', Array.from({ length: 150 }, (_, i) => ({ id: i + 1, sealed: sealed(`pk${i + 1}`) })));
  await device(store, '15550001', 1, 120);
  const takes = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? store : second).takeBusinessPreKey('1002')));
  const ids = takes.filter((k) => k !== undefined).map((k) => k!.id);
  assert.equal(ids.length, 150);
  assert.equal(new Set(ids).size, 150);
  assert.equal(await store.businessPreKeyCount('1002'), 0);
  const deviceTakes = await Promise.all(Array.from({ length: 130 }, (_, i) => (i % 2 ? store : second).takeDevicePreKey('15550001', 1)));
  const deviceIds = deviceTakes.filter((k) => k !== undefined).map((k) => k!.id);
  assert.equal(new Set(deviceIds).size, 120);
  assert.equal(deviceIds.length, 120);
});

test('sessions: compare-and-set across processes; exactly one of two racing writers wins', async () => {
  await store.createBusiness(business('1003'));
  await device(store, '15550002');
  const v1 = await store.putSession('1003', '15550002', 1, sealed('s1'), 0);
  await assert.rejects(second.putSession('1003', '15550002', 1, sealed('dup'), 0), (e: unknown) => e instanceof StoreError && e.kind === 'conflict');
  const results = await Promise.allSettled([store.putSession('1003', '15550002', 1, sealed('a'), v1), second.putSession('1003', '15550002', 1, sealed('b'), v1)]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  const winner = results.findIndex((r) => r.status === 'fulfilled');
  const current = await second.getSession('1003', '15550002', 1);
  assert.equal(current?.version, (results[winner] as PromiseFulfilledResult<number>).value);
  assert.notEqual(current?.version, v1);
  assert.deepEqual(current?.sealed, sealed(winner === 0 ? 'a' : 'b'));
  // Re-registering the device drops its sessions; a new session never reuses an old version (no ABA).
  const replaced = await store.registerDevice({ wa_id: '15550002', device_id: 1, token_hash: 'tok-new', registered_at_ms: T0 + 1, sealed_keys: sealed('k2') }, []);
  assert.deepEqual(replaced, { replaced: true, sessions_dropped: 1 });
  assert.equal(await store.getSession('1003', '15550002', 1), undefined);
  const fresh = await store.putSession('1003', '15550002', 1, sealed('new'), 0);
  assert.ok(![v1, current!.version].includes(fresh));
  await assert.rejects(second.putSession('1003', '15550002', 1, sealed('stale'), current!.version), (e: unknown) => e instanceof StoreError && e.kind === 'conflict');
  assert.equal((await store.getDeviceByTokenHash('tok-new'))?.wa_id, '15550002');
});

test('inbox: concurrent appends from two processes get gap-free increasing cursors, read across regions', async () => {
  await store.createBusiness(business('1004'));
  await store.createBusiness(business('2004', 'DE'));
  await device(store, '15550003');
  const appends = Array.from({ length: 40 }, (_, i) =>
    (i % 2 ? store : second).appendInbox([{ phone_number_id: i % 3 ? '1004' : '2004', wa_id: '15550003', device_id: 1, id: `wamid.${i}`, created_at_ms: T0 + i, sealed: sealed(`c${i}`) }]),
  );
  const cursors = (await Promise.all(appends)).flat();
  assert.deepEqual([...cursors].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1));
  const first = await second.readInbox('15550003', 1, 0, 25);
  assert.deepEqual(first.entries.map((e) => e.cursor), Array.from({ length: 25 }, (_, i) => i + 1));
  const rest = await store.readInbox('15550003', 1, first.cursor, 100);
  assert.equal(rest.entries.length, 15);
  assert.equal(rest.cursor, 40);
  assert.deepEqual(await store.readInbox('15550003', 1, 40, 10), { entries: [], cursor: 40 });
  await assert.rejects(
    store.appendInbox([{ phone_number_id: '1004', wa_id: '15559999', device_id: 1, id: 'x', created_at_ms: T0, sealed: sealed('x') }]),
    (e: unknown) => e instanceof StoreError && e.kind === 'not-found',
  );
});

test('messages and statuses update the conversation and the user activity; unknown business stores nothing', async () => {
  await store.createBusiness(business('1005'));
  await device(store, '15550004');
  await store.appendMessages([{ phone_number_id: '1005', id: 'wamid.in1', wa_id: '15550004', created_at_ms: T0 + 5000, sealed: sealed('m1') }]);
  await store.recordStatuses([{ phone_number_id: '1005', id: 'wamid.out1', wa_id: '15550004', status: 'sent', at_ms: T0 + 6000, sealed: sealed('st1') }]);
  await store.recordStatuses([{ phone_number_id: '1005', id: 'wamid.out1', wa_id: '15550004', status: 'read', at_ms: T0 + 7000, sealed: sealed('st2') }]);
  const conversation = await second.getConversation('1005', '15550004');
  assert.equal(conversation?.last_inbound_ms, T0 + 5000);
  assert.equal(conversation?.last_status_ms, T0 + 7000);
  assert.equal((await second.getContact('15550004'))?.last_activity_ms, T0 + 7000);
  assert.deepEqual((await second.listStatuses('1005', 'wamid.out1')).map((s) => s.status), ['sent', 'read']);
  const before = (await store.metrics()).messages;
  await assert.rejects(
    store.appendMessages([
      { phone_number_id: '1005', id: 'wamid.in2', wa_id: '15550004', created_at_ms: T0, sealed: sealed('m2') },
      { phone_number_id: 'nope', id: 'wamid.in3', wa_id: '15550004', created_at_ms: T0, sealed: sealed('m3') },
    ]),
    (e: unknown) => e instanceof StoreError && e.kind === 'not-found',
  );
  assert.equal((await store.metrics()).messages, before);
});

test('webhook queue: bounded, idempotent, claims lease items to one claimer', async () => {
  const small = await PostgresStore.open({ database_url: db.url, webhook_queue_capacity: 3 });
  try {
    await small.createBusiness(business('1006'));
    const item = (id: string, due = T0) => ({ phone_number_id: '1006', id, created_at_ms: T0, due_at_ms: due, attempts: 0, sealed: sealed(id) });
    await small.enqueueWebhooks([item('w1'), item('w2')]);
    await small.enqueueWebhooks([item('w2')]); // already queued
    await assert.rejects(small.enqueueWebhooks([item('w3'), item('w4')]), (e: unknown) => e instanceof StoreError && e.kind === 'queue-full');
    assert.equal(await small.webhookQueueDepth('1006'), 2);
    const [a, b] = await Promise.all([small.claimWebhooks(T0, { limit: 10, lease_ms: 1000, phone_number_id: '1006' }), second.claimWebhooks(T0, { limit: 10, lease_ms: 1000, phone_number_id: '1006' })]);
    assert.deepEqual([...a, ...b].map((w) => w.id).sort(), ['w1', 'w2']);
    assert.equal((await small.claimWebhooks(T0 + 500, { limit: 10, lease_ms: 1000, phone_number_id: '1006' })).length, 0);
    await small.rescheduleWebhook('1006', 'w1', T0 + 5000, 1);
    await small.ackWebhooks('1006', ['w2']);
    assert.equal(await small.nextWebhookDueMs(), T0 + 5000);
    const again = await small.claimWebhooks(T0 + 5000, { limit: 10, lease_ms: 1000, phone_number_id: '1006' });
    assert.deepEqual(again.map((w) => [w.id, w.attempts]), [['w1', 1]]);
    await small.ackWebhooks('1006', ['w1']);
  } finally {
    await small.close();
  }
});

test('webhook claims across regions: oldest due first over every region schema, not region by region', async () => {
  await store.createBusiness(business('3008', 'US'));
  await store.createBusiness(business('3009', 'BR'));
  const at = T0 + 10 * DAY; // later than every other test's items, which stay leased or acked
  const item = (pnid: string, id: string, due: number) => ({ phone_number_id: pnid, id, created_at_ms: at, due_at_ms: due, attempts: 0, sealed: sealed(id) });
  await store.enqueueWebhooks([item('3008', 'us-3', at + 3), item('3008', 'us-4', at + 4)]);
  await store.enqueueWebhooks([item('3009', 'br-1', at + 1), item('3009', 'br-2', at + 2), item('3009', 'br-5', at + 5)]);
  const first = await store.claimWebhooks(at + 10, { limit: 3, lease_ms: 60_000 });
  assert.deepEqual(first.map((w) => w.id), ['br-1', 'br-2', 'us-3']);
  // The offered-but-not-picked rows (us-4, br-5) were not leased: the next claim gets them, in order.
  const rest = await store.claimWebhooks(at + 10, { limit: 10, lease_ms: 60_000 });
  assert.deepEqual(rest.map((w) => w.id), ['us-4', 'br-5']);
  assert.deepEqual(await store.claimWebhooks(at + 10, { limit: 10, lease_ms: 60_000 }), []);
  assert.deepEqual(await store.claimWebhooks(at + 10, { limit: 0, lease_ms: 60_000 }), []);
  await store.ackWebhooks('3008', ['us-3', 'us-4']);
  await store.ackWebhooks('3009', ['br-1', 'br-2', 'br-5']);
});

test('audit: a DE business keeps its message data only in region_de, sealed bytes as given', async () => {
  await store.createBusiness(business('2007', 'DE'));
  await device(store, '15550007');
  await store.appendMessages([{ phone_number_id: '2007', id: 'wamid.de1', wa_id: '15550007', created_at_ms: T0, sealed: sealed('de-message') }]);
  const de: string[] = [];
  for await (const r of store.auditRecords('DE')) de.push(`${r.kind} ${r.key} ${Buffer.from(r.bytes, 'base64').toString()}`);
  assert.ok(de.includes('message 2007/wamid.de1 sealed:de-message'));
  for await (const r of store.auditRecords('US')) assert.notEqual(r.key, '2007/wamid.de1');
  const us: string[] = [];
  for await (const r of store.auditRecords('US')) us.push(`${r.kind} ${r.key}`);
  assert.ok(us.includes('contact 15550007.1'));
});

test('retention: a 31-day advance drops whole day partitions, deletes edge rows in bounded batches, sweeps users by index', async () => {
  const sweepDb = await createTestDatabase('sigload_sweep');
  const s = await PostgresStore.open({ database_url: sweepDb.url });
  try {
    await s.createBusiness(business('3001'));
    await device(s, '15550100', 1, 3);
    await device(s, '15550101', 1, 0);
    const records = (day: number, n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => ({ phone_number_id: '3001', id: `${prefix}${i}`, wa_id: '15550100', created_at_ms: T0 + day * DAY + i, sealed: sealed(`${prefix}${i}`) }));
    await s.appendMessages(records(0, 500, 'a'));
    await s.appendMessages(records(1, 300, 'b'));
    await s.appendInbox([{ phone_number_id: '3001', wa_id: '15550100', device_id: 1, id: 'a0', created_at_ms: T0, sealed: sealed('i') }]);
    await s.recordStatuses([{ phone_number_id: '3001', id: 'a0', wa_id: '15550101', status: 'sent', at_ms: T0 + 1, sealed: sealed('st') }]);
    // The user 15550100 is active later (day 5), 15550101 is not.
    await s.appendMessages([{ phone_number_id: '3001', id: 'late', wa_id: '15550100', created_at_ms: T0 + 5 * DAY, sealed: sealed('late') }]);
    const before = await listPartitions(s.pool, regionSchema('US'), 'messages');
    assert.ok(before.some((p) => p.name === partitionName('messages', T0)));

    // Now = T0 + 31 days: cutoff = T0 + 1 day; day 0 expires whole, day 1 straddles (rows before T0+1d+? none).
    const cutoff = T0 + DAY + 150; // b0..b149 of day 1 are older than the cutoff
    let deleted = 0;
    let rounds = 0;
    for (;;) {
      const r = await s.sweepMessageData(cutoff, { max_records: 100 });
      deleted += r.messages_deleted;
      rounds++;
      if (r.done) break;
    }
    assert.equal(deleted, 500 + 150 + 1 + 1); // day-0 messages + edge rows + inbox + status
    assert.ok(rounds >= 2, 'edge rows are deleted in bounded batches');
    const after = await listPartitions(s.pool, regionSchema('US'), 'messages');
    assert.ok(!after.some((p) => p.name === partitionName('messages', T0)), 'the expired day is dropped');
    assert.equal((await s.metrics()).messages, 150 + 1);

    const users = await s.sweepUsers(T0 + 2 * DAY, { max_users: 1 });
    assert.deepEqual([users.user_ids_deleted, users.done], [1, false]);
    const more = await s.sweepUsers(T0 + 2 * DAY, { max_users: 1 });
    assert.deepEqual([more.user_ids_deleted, more.done], [0, true]);
    assert.equal(await s.getContact('15550101'), undefined);
    assert.equal(await s.getDevice('15550101', 1), undefined);
    assert.ok(await s.getContact('15550100'));
  } finally {
    await s.close();
    await sweepDb.drop();
  }
});

test('everything persists across a reopen (a restarted server)', async () => {
  await store.createBusiness(business('1008'));
  await device(store, '15550008', 1, 2);
  const version = await store.putSession('1008', '15550008', 1, sealed('sess'), 0);
  await store.enqueueWebhooks([{ phone_number_id: '1008', id: 'w', created_at_ms: T0, due_at_ms: T0, attempts: 2, sealed: sealed('w') }]);
  const reopened = await PostgresStore.open({ database_url: db.url });
  try {
    assert.deepEqual(await reopened.getSession('1008', '15550008', 1), { sealed: sealed('sess'), version });
    assert.equal(await reopened.devicePreKeyCount('15550008', 1), 2);
    assert.equal(await reopened.webhookQueueDepth('1008'), 1);
  } finally {
    await reopened.close();
  }
});

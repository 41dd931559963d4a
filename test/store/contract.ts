/**
 * The Store contract (src/store/store.ts, its roles in src/store/roles.ts) as tests any
 * implementation must pass. Each test opens a fresh store through `open` and closes it; it runs
 * on both backends: test/store/memory-contract.test.ts (the memory store) and
 * test/store/postgres-contract.test.ts (the PostgreSQL store, a fresh database per test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REGIONS, StoreError, recordKey } from '../../src/store/store.js';
import type { AuditRecord, BusinessRecord, DeviceRecord, Region, Store, WebhookItem } from '../../src/store/store.js';

export interface ContractStoreOptions {
  readonly webhook_queue_capacity: number;
}

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 10, 12);
const bytes = (text: string): Uint8Array => new TextEncoder().encode(`sealed:${text}`);
const isKind = (kind: string) => (e: unknown) => e instanceof StoreError && e.kind === kind;

let serial = 0;
function business(region: Region = 'US'): BusinessRecord {
  const pnid = `9${String(++serial).padStart(6, '0')}${Math.floor(Math.random() * 1e6)}`;
  return { phone_number_id: pnid, waba_id: `w${pnid}`, region, access_token_hash: `h${pnid}`, created_at_ms: T0, wrapped_data_key: bytes(`dk${pnid}`), sealed_profile: bytes(`p${pnid}`) };
}
function device(waId: string, deviceId: number, atMs = T0): DeviceRecord {
  return { wa_id: waId, device_id: deviceId, token_hash: `t${waId}.${deviceId}.${Math.random()}`, registered_at_ms: atMs, sealed_keys: bytes(`k${waId}`) };
}
function webhook(pnid: string, id: string, atMs = T0): WebhookItem {
  return { phone_number_id: pnid, id, created_at_ms: atMs, due_at_ms: atMs, attempts: 0, sealed: bytes(id) };
}
async function audit(store: Store, region: Region): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of store.auditRecords(region)) out.push(r);
  return out;
}

export function storeContract(name: string, open: (options: ContractStoreOptions) => Promise<Store>): void {
  const withStore = (title: string, body: (store: Store) => Promise<void>, capacity = 10_000): void => {
    test(`${name} store contract: ${title}`, async () => {
      const store = await open({ webhook_queue_capacity: capacity });
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
  };

  withStore('businesses by id and token hash; duplicates refused with exists', async (store) => {
    const b = business('DE');
    await store.createBusiness(b);
    assert.equal((await store.getBusiness(b.phone_number_id))?.region, 'DE');
    assert.deepEqual([...(await store.getBusinessByTokenHash(b.access_token_hash))!.sealed_profile], [...b.sealed_profile]);
    await assert.rejects(store.createBusiness(b), isKind('exists'));
    await store.updateBusinessProfile(b.phone_number_id, bytes('new'));
    assert.deepEqual([...(await store.getBusiness(b.phone_number_id))!.sealed_profile], [...bytes('new')]);
    await assert.rejects(store.updateBusinessProfile('nope', bytes('x')), isKind('not-found'));
  });

  withStore('one-time prekeys (business and device) are never handed out twice, even concurrently', async (store) => {
    const b = business();
    await store.createBusiness(b);
    await store.addBusinessPreKeys(b.phone_number_id, Array.from({ length: 40 }, (_, i) => ({ id: i + 1, sealed: bytes(`bpk${i}`) })));
    const taken = await Promise.all(Array.from({ length: 60 }, () => store.takeBusinessPreKey(b.phone_number_id)));
    const ids = taken.flatMap((k) => (k === undefined ? [] : [k.id]));
    assert.equal(ids.length, 40);
    assert.equal(new Set(ids).size, 40);
    assert.equal(await store.businessPreKeyCount(b.phone_number_id), 0);
    await store.registerDevice(device('15551110001', 1), Array.from({ length: 10 }, (_, i) => ({ id: i + 1, sealed: bytes(`dpk${i}`) })));
    const dt = await Promise.all(Array.from({ length: 15 }, () => store.takeDevicePreKey('15551110001', 1)));
    const dids = dt.flatMap((k) => (k === undefined ? [] : [k.id]));
    assert.equal(new Set(dids).size, 10);
    assert.equal(dids.length, 10);
  });

  withStore('replacing a device revokes its token and drops every business session with it, atomically', async (store) => {
    const us = business('US');
    const jp = business('JP');
    await store.createBusiness(us);
    await store.createBusiness(jp);
    const first = device('15551110002', 1);
    assert.deepEqual(await store.registerDevice(first, []), { replaced: false, sessions_dropped: 0 });
    await store.putSession(us.phone_number_id, '15551110002', 1, bytes('s1'), 0);
    await store.putSession(jp.phone_number_id, '15551110002', 1, bytes('s2'), 0);
    const second = device('15551110002', 1, T0 + 1);
    assert.deepEqual(await store.registerDevice(second, []), { replaced: true, sessions_dropped: 2 });
    assert.equal(await store.getDeviceByTokenHash(first.token_hash), undefined);
    assert.equal((await store.getDeviceByTokenHash(second.token_hash))?.registered_at_ms, T0 + 1);
    assert.equal(await store.getSession(us.phone_number_id, '15551110002', 1), undefined);
    assert.equal(await store.getSession(jp.phone_number_id, '15551110002', 1), undefined);
    await store.registerDevice(device('15551110002', 2), []);
    assert.deepEqual((await store.listDevices('15551110002')).map((d) => d.device_id), [1, 2]);
  });

  withStore('session compare-and-set: one of two writers of the same version wins; versions never come back', async (store) => {
    const b = business();
    await store.createBusiness(b);
    await store.registerDevice(device('15551110003', 1), []);
    const v1 = await store.putSession(b.phone_number_id, '15551110003', 1, bytes('a'), 0);
    await assert.rejects(store.putSession(b.phone_number_id, '15551110003', 1, bytes('x'), 0), isKind('conflict'));
    const both = await Promise.allSettled([store.putSession(b.phone_number_id, '15551110003', 1, bytes('b'), v1), store.putSession(b.phone_number_id, '15551110003', 1, bytes('c'), v1)]);
    assert.equal(both.filter((r) => r.status === 'fulfilled').length, 1);
    assert.ok(both.some((r) => r.status === 'rejected' && isKind('conflict')(r.reason)));
    const current = (await store.getSession(b.phone_number_id, '15551110003', 1))!;
    await store.deleteSession(b.phone_number_id, '15551110003', 1);
    const v3 = await store.putSession(b.phone_number_id, '15551110003', 1, bytes('d'), 0);
    assert.ok(v3 !== v1 && v3 !== current.version, 'no ABA after drop and recreate');
    await assert.rejects(store.putSession(b.phone_number_id, '15551119999', 1, bytes('e'), 0), isKind('not-found'));
  });

  withStore('inbox: per-device increasing cursors across regions; read after cursor with limit', async (store) => {
    const us = business('US');
    const de = business('DE');
    await store.createBusiness(us);
    await store.createBusiness(de);
    await store.registerDevice(device('15551110004', 1), []);
    const cursors: number[] = [];
    for (let i = 0; i < 6; i++) {
      const b = i % 2 === 0 ? us : de;
      cursors.push(...(await store.appendInbox([{ phone_number_id: b.phone_number_id, wa_id: '15551110004', device_id: 1, id: `wamid.${i}`, created_at_ms: T0 + i, sealed: bytes(`c${i}`) }])));
    }
    for (let i = 1; i < cursors.length; i++) assert.ok(cursors[i]! > cursors[i - 1]!);
    const page = await store.readInbox('15551110004', 1, 0, 4);
    assert.deepEqual(page.entries.map((e) => e.id), ['wamid.0', 'wamid.1', 'wamid.2', 'wamid.3']);
    assert.equal(page.cursor, cursors[3]);
    const rest = await store.readInbox('15551110004', 1, page.cursor, 100);
    assert.deepEqual(rest.entries.map((e) => e.id), ['wamid.4', 'wamid.5']);
    assert.deepEqual([...rest.entries[1]!.sealed], [...bytes('c5')]);
    const none = await store.readInbox('15551110004', 1, rest.cursor, 100);
    assert.equal(none.entries.length, 0);
    assert.equal(none.cursor, rest.cursor);
    await assert.rejects(store.appendInbox([{ phone_number_id: us.phone_number_id, wa_id: '15551110004', device_id: 7, id: 'x', created_at_ms: T0, sealed: bytes('x') }]), isKind('not-found'));
  });

  withStore('messages and statuses drive the service window and the user activity; unknown business stores nothing', async (store) => {
    const b = business('BR');
    await store.createBusiness(b);
    await store.appendMessages([
      { phone_number_id: b.phone_number_id, id: 'wamid.m1', wa_id: '15551110005', created_at_ms: T0 + 10, sealed: bytes('m1') },
      { phone_number_id: b.phone_number_id, id: 'wamid.m2', wa_id: '15551110005', created_at_ms: T0 + 20, sealed: bytes('m2') },
    ]);
    assert.equal((await store.getConversation(b.phone_number_id, '15551110005'))?.last_inbound_ms, T0 + 20);
    assert.equal((await store.getContact('15551110005'))?.last_activity_ms, T0 + 20);
    await store.recordStatuses([
      { phone_number_id: b.phone_number_id, id: 'wamid.o', wa_id: '15551110005', status: 'sent', at_ms: T0 + 30, sealed: bytes('s1') },
      { phone_number_id: b.phone_number_id, id: 'wamid.o', wa_id: '15551110005', status: 'delivered', at_ms: T0 + 40, sealed: bytes('s2') },
    ]);
    assert.deepEqual((await store.listStatuses(b.phone_number_id, 'wamid.o')).map((s) => s.status), ['sent', 'delivered']);
    assert.equal((await store.getConversation(b.phone_number_id, '15551110005'))?.last_status_ms, T0 + 40);
    assert.equal((await store.getContact('15551110005'))?.last_activity_ms, T0 + 40);
    await store.reportSpam(b.phone_number_id, '15551110005', T0 + 50);
    assert.equal((await store.getConversation(b.phone_number_id, '15551110005'))?.reported_spam_ms, T0 + 50);
    await assert.rejects(
      store.appendMessages([
        { phone_number_id: b.phone_number_id, id: 'wamid.ok', wa_id: '15551110005', created_at_ms: T0, sealed: bytes('ok') },
        { phone_number_id: 'nope', id: 'wamid.bad', wa_id: '15551110005', created_at_ms: T0, sealed: bytes('bad') },
      ]),
      isKind('not-found'),
    );
    const messages = (await audit(store, 'BR')).filter((r) => r.kind === 'message').map((r) => r.key).sort();
    assert.deepEqual(messages, [recordKey.message(b.phone_number_id, 'wamid.m1'), recordKey.message(b.phone_number_id, 'wamid.m2')]);
  });

  withStore(
    'webhook queue: bounded with all-or-nothing queue-full, idempotent ids, leases, ack, reschedule',
    async (store) => {
      const b = business();
      await store.createBusiness(b);
      const pnid = b.phone_number_id;
      await store.enqueueWebhooks([webhook(pnid, 'a', T0), webhook(pnid, 'b', T0 + 1), webhook(pnid, 'c', T0 + 2)]);
      await assert.rejects(store.enqueueWebhooks([webhook(pnid, 'd'), webhook(pnid, 'e'), webhook(pnid, 'f')]), isKind('queue-full'));
      assert.equal(await store.webhookQueueDepth(pnid), 3);
      await store.enqueueWebhooks([webhook(pnid, 'a')]);
      assert.equal(await store.webhookQueueDepth(pnid), 3, 'same id again is not a second piece');
      const claimed = await store.claimWebhooks(T0 + 5, { limit: 2, lease_ms: 1_000 });
      assert.deepEqual(claimed.map((i) => i.id), ['a', 'b'], 'oldest due first');
      assert.deepEqual((await store.claimWebhooks(T0 + 5, { limit: 10, lease_ms: 1_000 })).map((i) => i.id), ['c']);
      assert.deepEqual(await store.claimWebhooks(T0 + 5, { limit: 10, lease_ms: 1_000 }), [], 'leased');
      await store.ackWebhooks(pnid, ['a', 'unknown']);
      await store.rescheduleWebhook(pnid, 'b', T0 + 10_000, 3);
      assert.equal(await store.nextWebhookDueMs(), T0 + 1_005);
      assert.deepEqual((await store.claimWebhooks(T0 + 1_005, { limit: 10, lease_ms: 1_000, phone_number_id: pnid })).map((i) => i.id), ['c']);
      const b2 = await store.claimWebhooks(T0 + 10_000, { limit: 10, lease_ms: 1_000 });
      assert.deepEqual(b2.map((i) => [i.id, i.attempts, Buffer.from(i.sealed).toString()]), [['c', 0, 'sealed:c'], ['b', 3, 'sealed:b']], 'c\'s lease ran out first');
      assert.equal(await store.webhookQueueDepth(), 2);
      await store.ackWebhooks(pnid, ['b', 'c']);
      assert.equal(await store.webhookQueueDepth(), 0);
      assert.equal(await store.nextWebhookDueMs(), undefined);
    },
    4,
  );

  withStore('retention: message data before the cutoff goes, after it stays; idle users go with all their identifiers', async (store) => {
    const de = business('DE');
    await store.createBusiness(de);
    const pnid = de.phone_number_id;
    const idle = device('15551110006', 1, T0);
    await store.registerDevice(idle, [{ id: 1, sealed: bytes('pk') }]);
    await store.registerDevice(device('15551110007', 1, T0), []);
    await store.appendMessages([
      { phone_number_id: pnid, id: 'wamid.old', wa_id: '15551110006', created_at_ms: T0, sealed: bytes('old') },
      { phone_number_id: pnid, id: 'wamid.new', wa_id: '15551110007', created_at_ms: T0 + 2 * DAY, sealed: bytes('new') },
    ]);
    await store.appendInbox([{ phone_number_id: pnid, wa_id: '15551110006', device_id: 1, id: 'wamid.i', created_at_ms: T0, sealed: bytes('i') }]);
    await store.recordStatuses([{ phone_number_id: pnid, id: 'wamid.i', wa_id: '15551110006', status: 'sent', at_ms: T0, sealed: bytes('s') }]);
    await store.enqueueWebhooks([webhook(pnid, 'wamid.i:sent', T0)]);
    await store.putSession(pnid, '15551110006', 1, bytes('session'), 0);

    const cutoff = T0 + DAY; // = now − 30 days at T0 + 31 days
    let deleted = 0;
    for (;;) {
      const r = await store.sweepMessageData(cutoff, { max_records: 2 });
      deleted += r.messages_deleted;
      if (r.done) break;
    }
    assert.equal(deleted, 4, 'message, inbox entry, status, webhook piece');
    let users = 0;
    for (;;) {
      const r = await store.sweepUsers(cutoff, { max_users: 1 });
      users += r.user_ids_deleted;
      if (r.done) break;
    }
    assert.equal(users, 1);
    assert.equal(await store.getContact('15551110006'), undefined);
    assert.equal(await store.getDeviceByTokenHash(idle.token_hash), undefined);
    assert.equal(await store.getSession(pnid, '15551110006', 1), undefined);
    assert.equal(await store.getConversation(pnid, '15551110006'), undefined);
    assert.ok(await store.getContact('15551110007'));
    assert.equal(await store.webhookQueueDepth(), 0);
    const left = [...(await audit(store, 'DE')), ...(await audit(store, 'US'))];
    assert.deepEqual(left.filter((r) => ['message', 'inbox', 'status', 'webhook', 'session'].includes(r.kind)).map((r) => r.key), [recordKey.message(pnid, 'wamid.new')]);
    assert.ok(!left.some((r) => r.key.includes('15551110006')), 'no identifier of the idle user');
    assert.ok(left.some((r) => r.kind === 'business' && r.key === pnid), 'business data kept');
  });

  withStore('audit: every record of a region with its bytes exactly as stored, and nothing of it elsewhere', async (store) => {
    const sg = business('SG');
    await store.createBusiness(sg);
    const pnid = sg.phone_number_id;
    await store.putBusinessIdentity({ phone_number_id: pnid, sealed: bytes('identity'), updated_at_ms: T0 });
    await store.addBusinessPreKeys(pnid, [{ id: 7, sealed: bytes('bpk7') }]);
    await store.registerDevice(device('15551110008', 1), [{ id: 1, sealed: bytes('dpk1') }]);
    await store.putSession(pnid, '15551110008', 1, bytes('session'), 0);
    await store.appendMessages([{ phone_number_id: pnid, id: 'wamid.a', wa_id: '15551110008', created_at_ms: T0, sealed: bytes('msg') }]);
    await store.appendInbox([{ phone_number_id: pnid, wa_id: '15551110008', device_id: 1, id: 'wamid.b', created_at_ms: T0, sealed: bytes('inbox') }]);
    await store.recordStatuses([{ phone_number_id: pnid, id: 'wamid.b', wa_id: '15551110008', status: 'sent', at_ms: T0, sealed: bytes('status') }]);
    await store.enqueueWebhooks([webhook(pnid, 'wamid.b:sent')]);
    const sgRecords = await audit(store, 'SG');
    const byKey = new Map(sgRecords.map((r) => [`${r.kind} ${r.key}`, r]));
    const expect: [string, Uint8Array][] = [
      [`business ${pnid}`, sg.sealed_profile],
      [`business_key ${recordKey.businessDataKey(pnid)}`, sg.wrapped_data_key],
      [`business_key ${recordKey.businessIdentity(pnid)}`, bytes('identity')],
      [`business_key ${recordKey.businessPreKey(pnid, 7)}`, bytes('bpk7')],
      [`session ${recordKey.session(pnid, '15551110008', 1)}`, bytes('session')],
      [`message ${recordKey.message(pnid, 'wamid.a')}`, bytes('msg')],
      [`inbox ${recordKey.inbox('15551110008', 1, 'wamid.b')}`, bytes('inbox')],
      [`status ${recordKey.status(pnid, 'wamid.b', 'sent')}`, bytes('status')],
      [`webhook ${recordKey.webhook(pnid, 'wamid.b:sent')}`, bytes('wamid.b:sent')],
    ];
    for (const [key, stored] of expect) {
      const r = byKey.get(key);
      assert.ok(r, `${key} listed`);
      assert.equal(r.region, 'SG');
      assert.equal(r.bytes, Buffer.from(stored).toString('base64'), `${key} bytes as stored`);
      assert.ok(!Number.isNaN(Date.parse(r.stored_at)));
    }
    for (const region of REGIONS) {
      if (region === 'SG') continue;
      assert.ok(!(await audit(store, region)).some((r) => r.key.includes(pnid)), `nothing of the SG business in ${region}`);
    }
    const home = await audit(store, 'US');
    assert.ok(home.some((r) => r.kind === 'contact' && r.key === recordKey.device('15551110008', 1) && r.bytes === Buffer.from(bytes(`k15551110008`)).toString('base64')));
  });
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AtRest } from '../../src/server/at-rest.js';
import { auditNdjson, auditRecords } from '../../src/server/audit.js';
import { VirtualClock } from '../../src/server/clock.js';
import { WebhookDispatcher } from '../../src/server/webhook-dispatcher.js';
import { MemoryStore } from '../../src/store/memory/index.js';
import { RECORD_KINDS, REGIONS, StoreError, recordKey } from '../../src/store/store.js';
import type { AuditRecord } from '../../src/store/store.js';
import { createBusiness, registerDevice, utf8 } from '../store/fixtures.js';

const CANARY = 'CANARY-7f3a9c';

test('audit lists every record of a region, in its region only, and no canary plaintext appears in any bytes', async () => {
  const clock = new VirtualClock();
  const now = clock.now();
  const store = new MemoryStore({ now: () => clock.now() });
  const atRest = new AtRest();
  const de = await createBusiness(store, atRest, { region: 'DE', now_ms: now });
  const us = await createBusiness(store, atRest, { region: 'US', now_ms: now });
  const seal = (kind: Parameters<AtRest['sealForBusiness']>[1], key: string) => atRest.sealForBusiness(de, kind, key, utf8.encode(`${CANARY} ${kind} ${key}`));
  const pnid = de.phone_number_id;
  const waId = '15550007777';

  await store.putBusinessIdentity({ phone_number_id: pnid, sealed: seal('business_key', recordKey.businessIdentity(pnid)), updated_at_ms: now });
  await store.addBusinessPreKeys(pnid, [{ id: 5, sealed: seal('business_key', recordKey.businessPreKey(pnid, 5)) }]);
  await registerDevice(store, atRest, waId, 1, now, 2);
  await store.putSession(pnid, waId, 1, seal('session', recordKey.session(pnid, waId, 1)), 0);
  await store.appendMessages([{ phone_number_id: pnid, id: 'wamid.M', wa_id: waId, created_at_ms: now, sealed: seal('message', recordKey.message(pnid, 'wamid.M')) }]);
  await store.appendInbox([{ phone_number_id: pnid, wa_id: waId, device_id: 1, id: 'wamid.O', created_at_ms: now, sealed: seal('inbox', recordKey.inbox(waId, 1, 'wamid.O')) }]);
  await store.recordStatuses([{ phone_number_id: pnid, id: 'wamid.O', wa_id: waId, status: 'sent', at_ms: now, sealed: seal('status', recordKey.status(pnid, 'wamid.O', 'sent')) }]);
  const dispatcher = new WebhookDispatcher({ store, atRest, clock, resolveTarget: () => undefined });
  await dispatcher.enqueueMessage(de, { wa_id: waId, id: 'wamid.M', timestamp_ms: now, message: { type: 'text', text: { body: CANARY } } });

  const byRegion = new Map<string, AuditRecord[]>();
  for (const region of REGIONS) {
    const list: AuditRecord[] = [];
    for await (const r of auditRecords(store, region)) list.push(r);
    byRegion.set(region, list);
  }
  const deKeys = byRegion.get('DE')!.map((r) => `${r.kind} ${r.key}`).sort();
  assert.deepEqual(deKeys, [
    `business ${pnid}`,
    `business_key ${recordKey.businessDataKey(pnid)}`,
    `business_key ${recordKey.businessIdentity(pnid)}`,
    `business_key ${recordKey.businessPreKey(pnid, 5)}`,
    `contact ${recordKey.conversation(pnid, waId)}`,
    `inbox ${recordKey.inbox(waId, 1, 'wamid.O')}`,
    `message ${recordKey.message(pnid, 'wamid.M')}`,
    `session ${recordKey.session(pnid, waId, 1)}`,
    `status ${recordKey.status(pnid, 'wamid.O', 'sent')}`,
    `webhook ${recordKey.webhook(pnid, 'wamid.M')}`,
  ].sort());
  const usKeys = byRegion.get('US')!.map((r) => `${r.kind} ${r.key}`).sort();
  assert.deepEqual(usKeys, [
    `business ${us.phone_number_id}`,
    `business_key ${recordKey.businessDataKey(us.phone_number_id)}`,
    `contact ${recordKey.contact(waId)}`,
    `contact ${recordKey.device(waId, 1)}`,
    `contact ${recordKey.devicePreKey(waId, 1, 1)}`,
    `contact ${recordKey.devicePreKey(waId, 1, 2)}`,
    `contact ${recordKey.inboxCursor(waId, 1)}`, // the device's inbox cursor (home region), also for DE entries
  ].sort(), 'the DE business has nothing in US; user records live in the home region');
  for (const region of REGIONS) if (region !== 'DE' && region !== 'US') assert.deepEqual(byRegion.get(region), []);

  const all = [...byRegion.values()].flat();
  for (const r of all) {
    assert.ok(RECORD_KINDS.includes(r.kind));
    assert.equal(r.stored_at, new Date(now).toISOString());
    const bytes = Buffer.from(r.bytes, 'base64');
    assert.equal(bytes.toString('base64'), r.bytes, 'standard base64');
    assert.equal(bytes.includes(Buffer.from(CANARY)), false, `${r.kind} ${r.key} holds plaintext`);
  }
  // And each sealed record opens under its own (kind, key): the listing is exactly what was stored.
  const msg = byRegion.get('DE')!.find((r) => r.kind === 'message')!;
  assert.match(new TextDecoder().decode(atRest.openForBusiness(de, 'message', msg.key, Buffer.from(msg.bytes, 'base64'))), new RegExp(CANARY));

  let lines = '';
  for await (const line of auditNdjson(store, 'DE')) lines += line;
  const parsed = lines.trimEnd().split('\n').map((l) => JSON.parse(l) as AuditRecord);
  assert.equal(parsed.length, deKeys.length);
  assert.deepEqual(Object.keys(parsed[0]!), ['region', 'kind', 'key', 'stored_at', 'bytes']);
  assert.throws(() => auditRecords(store, 'XX'), (e: unknown) => e instanceof StoreError && e.kind === 'invalid');
});

/**
 * Audit after a 31-day clock advance and a sweep (transport-api.md §3 "Retention", seeds/):
 * no message data and no identifiers of the users left, business data kept, no canary plaintext
 * anywhere in `bytes`, nothing of a region-bound business outside its region.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { REGIONS } from '../../src/store/store.js';
import type { ReferenceServer } from '../../src/server/reference-server.js';
import { wamidPhoneNumberId } from '../../src/server/wamid.js';
import { TestDevice, call, createBusiness, eventually, sendText } from './test-client.js';
import { startTestServer } from './test-server.js';

interface AuditLine {
  region: string;
  kind: string;
  key: string;
  stored_at: string;
  bytes: string;
}

async function audit(server: ReferenceServer): Promise<AuditLine[]> {
  await server.settled();
  const out: AuditLine[] = [];
  for (const region of REGIONS) {
    const answer = await call(server, 'GET', `/admin/v1/audit/records?region=${region}`, server.adminToken);
    assert.equal(answer.status, 200);
    assert.match(answer.text === '' ? 'application/x-ndjson' : 'application/x-ndjson', /ndjson/);
    for (const line of answer.text.split('\n')) if (line !== '') out.push(JSON.parse(line) as AuditLine);
  }
  return out;
}

/** The business a record belongs to: its key's first segment, or for an inbox entry the wamid's. */
function ownerOf(record: AuditLine): string | undefined {
  if (record.kind === 'inbox') return wamidPhoneNumberId(record.key.split('/')[1]);
  const first = record.key.split('/')[0]!;
  return /^[0-9]{15}$/.test(first) ? first : undefined; // business ids are 15 digits, this test's users 13
}

/** Every way the canary could sit in the bytes: UTF-8, UTF-16LE, base64 of UTF-8. */
function containsCanary(bytes: Buffer, canary: string): boolean {
  return (
    bytes.includes(Buffer.from(canary, 'utf8')) ||
    bytes.includes(Buffer.from(canary, 'utf16le')) ||
    bytes.includes(Buffer.from(Buffer.from(canary, 'utf8').toString('base64').slice(0, 16), 'latin1'))
  );
}

test('after 31 days and a sweep: no message data, no user identifiers, business data kept, no plaintext, regions held', async () => {
  const t = await startTestServer();
  const { server } = t;
  try {
    const canaryIn = `CANARY-IN-${randomBytes(6).toString('hex')}`;
    const canaryOut = `CANARY-OUT-${randomBytes(6).toString('hex')}`;
    const home = await createBusiness(server, t.receiver);
    const german = await createBusiness(server, t.receiver, { region: 'DE' });
    const users = ['4930111222333', '4930111222444'];
    for (const waId of users) {
      const device = await TestDevice.register(server, waId, 1);
      for (const business of [home, german]) {
        await device.startSession(business.pnid);
        assert.equal((await device.sendText(business.pnid, `${canaryIn} to ${business.pnid}`)).status, 202);
        const reply = await sendText(server, business, waId, `${canaryOut} from ${business.pnid}`);
        assert.equal(reply.status, 200);
      }
      const inbox = await device.inbox();
      assert.equal(inbox.length, 2);
      assert.equal((await device.receipts(inbox.map((m) => m.id), 'read')).status, 204);
    }
    await eventually(() => t.receiver.messages.length === 4 && t.receiver.statuses.length === 8);
    // Keep some webhook retry payloads at rest too: the receiver goes down for one more message.
    t.receiver.down = true;
    const late = await sendText(server, german, users[0]!, `${canaryOut} late`);
    assert.equal(late.status, 200);
    await eventually(() => t.receiver.refused > 0);

    const before = await audit(server);
    const kinds = new Set(before.map((r) => r.kind));
    for (const kind of ['business', 'business_key', 'message', 'inbox', 'status', 'contact', 'session', 'webhook']) {
      assert.ok(kinds.has(kind), `kind ${kind} is at rest before the sweep`);
    }
    for (const record of before) {
      const bytes = Buffer.from(record.bytes, 'base64');
      assert.ok(!containsCanary(bytes, canaryIn) && !containsCanary(bytes, canaryOut), `plaintext in ${record.kind} ${record.key}`);
      // The region-bound business: every record keyed by it is in DE, and nothing of it elsewhere.
      const owner = ownerOf(record);
      if (owner === german.pnid) assert.equal(record.region, 'DE', `${record.kind} ${record.key} outside DE`);
      if (record.region === 'DE') assert.equal(owner, german.pnid, `${record.key} of another business in DE`);
    }
    assert.ok(before.some((r) => r.region === 'DE' && r.kind === 'message'), 'DE messages live in DE');

    // 31 days later, a sweep.
    assert.equal((await call(server, 'POST', '/admin/v1/clock', server.adminToken, { advance_ms: 31 * 86_400_000 })).status, 200);
    const sweep = await call(server, 'POST', '/admin/v1/retention/sweep', server.adminToken);
    assert.equal(sweep.status, 200, sweep.text);
    assert.ok(sweep.body.messages_deleted > 0);
    assert.equal(sweep.body.user_ids_deleted, 2);
    assert.equal(typeof sweep.body.duration_ms, 'number');

    const after = await audit(server);
    for (const record of after) {
      assert.ok(['business', 'business_key'].includes(record.kind), `${record.kind} ${record.key} survived the sweep`);
      const bytes = Buffer.from(record.bytes, 'base64');
      for (const waId of users) {
        assert.ok(!record.key.includes(waId), `user id in key ${record.key}`);
        assert.ok(!bytes.includes(Buffer.from(waId)), `user id in bytes of ${record.key}`);
      }
      assert.ok(!containsCanary(bytes, canaryIn) && !containsCanary(bytes, canaryOut));
    }
    for (const business of [home, german]) {
      assert.ok(after.some((r) => r.kind === 'business' && r.key === business.pnid), 'business record kept');
      assert.ok(after.some((r) => r.kind === 'business_key' && r.key === `${business.pnid}/identity`), 'business identity kept');
    }
    // The operator's clock call is refused on a system-clock server.
    const metrics = await call(server, 'GET', '/metrics', server.adminToken);
    assert.match(metrics.text, /sigload_retention_sweeps_total 1/);
  } finally {
    await t.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { getBackend } from '../../src/crypto/index.js';
import { AtRest, SEALED_OVERHEAD_BYTES } from '../../src/server/at-rest.js';
import { statusRecord } from '../../src/server/status-records.js';
import { StoreError, recordKey } from '../../src/store/store.js';
import type { BusinessRecord } from '../../src/store/store.js';

const corrupt = (e: unknown) => e instanceof StoreError && e.kind === 'corrupt';
const utf8 = new TextEncoder();

function business(atRest: AtRest, pnid: string, region: BusinessRecord['region']) {
  return { phone_number_id: pnid, region, ...atRest.createDataKey(region, pnid) };
}

test('seal/open round trip under a business data key, on both crypto backends', () => {
  for (const name of ['node', 'noble'] as const) {
    const atRest = new AtRest({ backend: getBackend(name) });
    const b = business(atRest, '1001', 'US');
    const plaintext = utf8.encode('{"type":"text","text":{"body":"hello"}}');
    const sealed = atRest.sealForBusiness(b, 'message', recordKey.message('1001', 'wamid.x'), plaintext);
    assert.equal(sealed.length, plaintext.length + SEALED_OVERHEAD_BYTES);
    assert.equal(Buffer.from(sealed).includes(Buffer.from('hello')), false);
    assert.deepEqual(atRest.openForBusiness(b, 'message', recordKey.message('1001', 'wamid.x'), sealed), plaintext);
    // Two seals of the same plaintext differ (fresh nonce).
    assert.notDeepEqual(atRest.sealForBusiness(b, 'message', recordKey.message('1001', 'wamid.x'), plaintext), sealed);
  }
});

test('AAD binds sealed bytes to (kind, key): swapping records fails with corrupt', () => {
  const atRest = new AtRest();
  const b = business(atRest, '1002', 'DE');
  const a = atRest.sealForBusiness(b, 'message', recordKey.message('1002', 'wamid.a'), utf8.encode('a'));
  assert.throws(() => atRest.openForBusiness(b, 'message', recordKey.message('1002', 'wamid.b'), a), corrupt);
  assert.throws(() => atRest.openForBusiness(b, 'status', recordKey.message('1002', 'wamid.a'), a), corrupt);
  const tampered = a.slice();
  tampered[tampered.length - 1]! ^= 1;
  assert.throws(() => atRest.openForBusiness(b, 'message', recordKey.message('1002', 'wamid.a'), tampered), corrupt);
  assert.throws(() => atRest.openForBusiness(b, 'message', recordKey.message('1002', 'wamid.a'), a.subarray(0, 5)), corrupt);
  // Another business's data key cannot open it either.
  const other = business(atRest, '1003', 'DE');
  assert.throws(() => atRest.openForBusiness(other, 'message', recordKey.message('1002', 'wamid.a'), a), corrupt);
});

test('wrong region master key fails: a data key wrapped for one region does not unwrap under another', () => {
  const de = randomBytes(32);
  const writer = new AtRest({ master_keys: { DE: de } });
  const b = business(writer, '1004', 'DE');
  const sealed = writer.sealForBusiness(b, 'session', recordKey.session('1004', '155500', 1), utf8.encode('ratchet state'));

  // A fresh process with the right master key reads it back (data key unwrapped from the record).
  const reader = new AtRest({ master_keys: { DE: de } });
  assert.deepEqual(reader.openForBusiness(b, 'session', recordKey.session('1004', '155500', 1), sealed), utf8.encode('ratchet state'));

  // Wrong master key for the region, or the record presented as another region's: corrupt.
  const wrong = new AtRest({ master_keys: { DE: randomBytes(32) } });
  assert.throws(() => wrong.openForBusiness(b, 'session', recordKey.session('1004', '155500', 1), sealed), corrupt);
  const moved = new AtRest({ master_keys: { DE: de, GB: randomBytes(32) } });
  assert.throws(() => moved.openForBusiness({ ...b, region: 'GB' }, 'session', recordKey.session('1004', '155500', 1), sealed), corrupt);

  // Contact keys are per region too.
  const c = writer.sealForContact(recordKey.device('155500', 1), utf8.encode('identity'));
  assert.deepEqual(writer.openForContact(recordKey.device('155500', 1), c), utf8.encode('identity'));
  assert.throws(() => writer.openForContact(recordKey.device('155500', 1), c, 'DE'), corrupt);
});

test('configuration is checked: master keys must be 32 bytes of a known region', () => {
  assert.throws(() => new AtRest({ master_keys: { DE: new Uint8Array(16) } }), (e: unknown) => e instanceof StoreError && e.kind === 'invalid');
  assert.throws(() => new AtRest({ master_keys: { XX: new Uint8Array(32) } as never }), (e: unknown) => e instanceof StoreError && e.kind === 'invalid');
});

test('pooled nonces: every seal gets a distinct 12-byte nonce across pool refills, and each opens', () => {
  const atRest = new AtRest({ backend: getBackend('node') });
  const b = business(atRest, '1003', 'US');
  const seen = new Set<string>();
  const plaintext = utf8.encode('same plaintext every time');
  for (let i = 0; i < 1_000; i++) {
    // 1,000 seals span several 256-nonce pool refills.
    const key = recordKey.message('1003', `wamid.${i}`);
    const sealed = atRest.sealForBusiness(b, 'message', key, plaintext);
    seen.add(Buffer.from(sealed.subarray(1, 13)).toString('hex'));
    if (i % 97 === 0) assert.deepEqual(atRest.openForBusiness(b, 'message', key, sealed), plaintext);
  }
  assert.equal(seen.size, 1_000, 'no nonce handed out twice');
  assert.equal(seen.has('00'.repeat(12)), false, 'the zeroed pool copy is never used as a nonce');
});

test('a status record seals only what its clear columns do not hold', () => {
  const atRest = new AtRest();
  const b = business(atRest, '1009', 'US');
  const plain = statusRecord(atRest, b, { id: 'wamid.s', status: 'sent', timestamp_ms: 5, recipient_id: '4917000001' });
  assert.deepEqual(
    { id: plain.id, wa_id: plain.wa_id, status: plain.status, at_ms: plain.at_ms, sealed: plain.sealed.length },
    { id: 'wamid.s', wa_id: '4917000001', status: 'sent', at_ms: 5, sealed: 0 },
  );
  const withCallback = statusRecord(atRest, b, { id: 'wamid.s', status: 'sent', timestamp_ms: 5, recipient_id: '4917000001', biz_opaque_callback_data: 'order-canary-77' });
  assert.ok(withCallback.sealed.length > SEALED_OVERHEAD_BYTES);
  assert.equal(Buffer.from(withCallback.sealed).includes(Buffer.from('order-canary-77')), false);
  const opened = JSON.parse(Buffer.from(atRest.openForBusiness(b, 'status', recordKey.status('1009', 'wamid.s', 'sent'), withCallback.sealed)).toString('utf8'));
  assert.equal(opened.biz_opaque_callback_data, 'order-canary-77');
});

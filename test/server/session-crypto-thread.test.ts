/**
 * Business sends whose Signal encryption and sealing run on the session-crypto thread
 * (src/server/session-crypto-thread.ts, src/server/session-crypto-worker.ts): libsignal devices decrypt
 * every message while their own replies change the session on the event loop in
 * between (the thread's cached slot must then give way to the stored one), and sends still work
 * when the thread is off or gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDevice, createBusiness, sendText } from './test-client.js';
import { startTestServer } from './test-server.js';
import { getBackend } from '../../src/crypto/index.js';
import { AtRest } from '../../src/server/at-rest.js';
import { SessionCryptoThread } from '../../src/server/session-crypto-thread.js';
import { SessionRecord } from '../../src/signal/index.js';
import { encodeSessionSlot } from '../../src/server/session-slot.js';
import { IdentityKeyPair } from '../../src/signal/index.js';
import { decodeBatch, decodeReply, encodeBatch, encodeReply } from '../../src/server/session-crypto-wire.js';
import type { SessionCryptoJob } from '../../src/server/session-crypto-job.js';

for (const sessionCryptoThread of [true, false]) {
  test(`every send on an established session decrypts on both devices, with replies in between (thread ${sessionCryptoThread ? 'on' : 'off'})`, async () => {
    const t = await startTestServer({ sessionCryptoThread, limits: { pairBurst: 1e6 } });
    try {
      const business = await createBusiness(t.server, t.receiver);
      const waId = '4915100000777';
      const phone = await TestDevice.register(t.server, waId, 1);
      const tablet = await TestDevice.register(t.server, waId, 2);
      await phone.startSession(business.pnid);
      assert.equal((await phone.sendText(business.pnid, 'hi')).status, 202);
      const expected: string[] = [];
      let lastReply: Awaited<ReturnType<TestDevice['encrypt']>> | undefined;
      for (let round = 0; round < 4; round++) {
        // Several sends in flight at once: they share batches on the thread, one session at a time.
        const texts = Array.from({ length: 6 }, (_, i) => `round ${round} message ${i}`);
        const answers = await Promise.all(texts.map((text) => sendText(t.server, business, waId, text)));
        for (const a of answers) assert.equal(a.status, 200, a.text);
        expected.push(...texts);
        // The sends after a reply must have built on the session as the reply left it: had they
        // used a slot from before it, the reply's message key would exist again and a replay pass.
        if (lastReply !== undefined) assert.equal((await phone.postCiphertext(business.pnid, lastReply)).status, 400, 'a replayed reply is refused');
        // The phone reads and replies: the business's session with it moves on the event loop.
        const got = await phone.inbox();
        assert.equal(got.length, texts.length);
        lastReply = await phone.encrypt(business.pnid, { type: 'text', text: { body: `reply ${round}` } });
        assert.equal((await phone.postCiphertext(business.pnid, lastReply)).status, 202);
      }
      const tabletGot = await tablet.inbox();
      // Sends that ran concurrently may be in any order among themselves, but each decrypts.
      assert.deepEqual(tabletGot.map((m) => (m.plaintext as { text: { body: string } }).text.body).sort(), [...expected].sort());
      assert.equal(t.receiver.badSignatures, 0);
    } finally {
      await t.close();
    }
  });
}

test('a message decrypted on the thread but refused by the business leaves the stored session as it was', async () => {
  const t = await startTestServer({ sessionCryptoThread: true });
  try {
    const business = await createBusiness(t.server, t.receiver);
    const waId = '4915100000888';
    const phone = await TestDevice.register(t.server, waId, 1);
    await phone.startSession(business.pnid);
    const texts: string[] = [];
    const accepted = async (text: string, type: 2 | 3): Promise<void> => {
      const ciphertext = await phone.encrypt(business.pnid, { type: 'text', text: { body: text } });
      assert.equal(ciphertext.type, type);
      const answer = await phone.postCiphertext(business.pnid, ciphertext);
      assert.equal(answer.status, 202, answer.text);
      texts.push(text);
    };
    /** Decrypts, but its plaintext is not a message object: refused after decryption, nothing stored. */
    const refusedLeavesSession = async (type: 2 | 3): Promise<void> => {
      const before = await t.store.getSession(business.pnid, waId, 1);
      assert.ok(before !== undefined);
      const refused = await phone.encrypt(business.pnid, 42);
      assert.equal(refused.type, type);
      const answer = await phone.postCiphertext(business.pnid, refused);
      assert.equal(answer.status, 400, answer.text);
      const after = await t.store.getSession(business.pnid, waId, 1);
      assert.equal(after?.version, before.version, `no session write for a refused type-${type} message`);
      assert.deepEqual(after?.sealed, before.sealed);
      // The thread's own slot had moved on: the next messages must be built on the stored one.
      await accepted(`after refused type ${type}`, type);
      await accepted(`again after refused type ${type}`, type);
      assert.equal((await phone.postCiphertext(business.pnid, refused)).status, 400, 'still refused when sent again');
    };
    // Until the device hears from the business it repeats PreKey messages (type 3) on one session.
    await accepted('first', 3);
    await accepted('second', 3);
    await refusedLeavesSession(3);
    // Once it has read a business message, it sends SignalMessages (type 2).
    assert.equal((await sendText(t.server, business, waId, 'hello from the business')).status, 200);
    assert.equal((await phone.inbox()).length, 1);
    await accepted('third', 2);
    await refusedLeavesSession(2);
    for (let i = 0; i < 300 && t.receiver.messages.length < texts.length; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(t.receiver.messages.map((m) => (m as unknown as { text: { body: string } }).text.body), texts);
    assert.equal(t.receiver.badSignatures, 0);
  } finally {
    await t.close();
  }
});

test('the thread declines what it cannot do and answers nothing after it is closed', async () => {
  const backend = getBackend('node');
  const atRest = new AtRest({ backend });
  const { wrapped_data_key } = atRest.createDataKey('US', '1001');
  const dataKey = atRest.dataKey({ phone_number_id: '1001', region: 'US', wrapped_data_key });
  const local = { identity: IdentityKeyPair.generate(backend), registrationId: 7 };
  const thread = new SessionCryptoThread({ backend: 'node' });
  try {
    const emptySlot = atRest.seal(dataKey, 'session', 'k', encodeSessionSlot({ record: SessionRecord.empty(), issued: [] }));
    const send = { pnid: '1001', sessionKey: 'k', inboxKey: 'i', dataKey, local, plaintext: new Uint8Array([1, 2, 3]) };
    assert.equal(await thread.encrypt({ ...send, stored: { sealed: emptySlot, version: 1 } }), undefined, 'no current session: declined');
    assert.equal(await thread.encrypt({ ...send, stored: { sealed: new Uint8Array(40), version: 2 } }), undefined, 'corrupt slot: declined');
  } finally {
    await thread.close();
  }
  assert.equal(await thread.encrypt({ pnid: '1001', sessionKey: 'k', inboxKey: 'i', stored: { sealed: new Uint8Array(1), version: 1 }, dataKey, local, plaintext: new Uint8Array(1) }), undefined);
});

test('batches and replies cross the thread as bytes and come back field for field', () => {
  const business = { pnid: '1001', dataKey: new Uint8Array(32).fill(1), registrationId: 4242, identityPublicKey: new Uint8Array(33).fill(5), identityPrivateKey: new Uint8Array(32).fill(9) };
  const jobs: SessionCryptoJob[] = [
    { op: 'encrypt', id: 1, pnid: '1001', sessionKey: '1001/4915/1', inboxKey: '4915/1/wamid.ä', plaintext: new Uint8Array([1, 2, 3]), storedSlot: new Uint8Array(300).fill(7) },
    { op: 'encrypt', id: 2 ** 32 - 2, pnid: '1001', sessionKey: 's', inboxKey: 'i', plaintext: new Uint8Array(0) },
    { op: 'decrypt', id: 3, pnid: '1001', sessionKey: '1001/4915/2', messageType: 3, message: new Uint8Array(90).fill(8), remoteIdentity: new Uint8Array(33).fill(6), storedSlot: new Uint8Array(10).fill(2) },
    { op: 'decrypt', id: 4, pnid: '1001', sessionKey: 'd', messageType: 2, message: new Uint8Array(1), remoteIdentity: new Uint8Array(33) },
  ];
  const batch = decodeBatch(encodeBatch({ businesses: [business], jobs }));
  assert.deepEqual(
    batch.businesses.map((b) => ({ ...b, dataKey: [...b.dataKey], identityPublicKey: [...b.identityPublicKey], identityPrivateKey: [...b.identityPrivateKey] })),
    [{ ...business, dataKey: [...business.dataKey], identityPublicKey: [...business.identityPublicKey], identityPrivateKey: [...business.identityPrivateKey] }],
  );
  /** Byte fields as plain arrays, so deepEqual compares contents. */
  const plain = (job: SessionCryptoJob): Record<string, unknown> =>
    Object.fromEntries(Object.entries(job).map(([k, v]) => [k, v instanceof Uint8Array ? [...v] : v]));
  assert.deepEqual(batch.jobs.map(plain), jobs.map(plain));
  const results = [
    { id: 1, outcome: 'sealed', sealedSlot: new Uint8Array(420).fill(3), sealedInbox: new Uint8Array(200).fill(4) },
    { id: 2, outcome: 'declined', reason: 'no current session' },
    { id: 3, outcome: 'opened', sealedSlot: new Uint8Array(400).fill(5), plaintext: new Uint8Array(50).fill(9) },
  ] as const;
  const back = decodeReply(encodeReply(results));
  assert.deepEqual(back.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Uint8Array ? [...v] : v]))), [
    { id: 1, outcome: 'sealed', sealedSlot: [...results[0].sealedSlot], sealedInbox: [...results[0].sealedInbox] },
    results[1],
    { id: 3, outcome: 'opened', sealedSlot: [...results[2].sealedSlot], plaintext: [...results[2].plaintext] },
  ]);
  // Sealed results are copies: a stored record does not keep the whole reply alive.
  const first = back[0]!;
  assert.ok(first.outcome === 'sealed' && first.sealedSlot.buffer.byteLength === first.sealedSlot.length);
});

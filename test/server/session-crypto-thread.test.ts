/**
 * Business sends whose Signal encryption and sealing run on the session-crypto thread
 * (src/server/session-crypto-thread.ts, workers/session-crypto.ts): libsignal devices decrypt
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
  const jobs = [
    { id: 1, pnid: '1001', sessionKey: '1001/4915/1', inboxKey: '4915/1/wamid.ä', plaintext: new Uint8Array([1, 2, 3]), storedSlot: new Uint8Array(300).fill(7) },
    { id: 2 ** 32 - 2, pnid: '1001', sessionKey: 's', inboxKey: 'i', plaintext: new Uint8Array(0) },
  ];
  const batch = decodeBatch(encodeBatch({ businesses: [business], jobs }));
  assert.deepEqual(
    batch.businesses.map((b) => ({ ...b, dataKey: [...b.dataKey], identityPublicKey: [...b.identityPublicKey], identityPrivateKey: [...b.identityPrivateKey] })),
    [{ ...business, dataKey: [...business.dataKey], identityPublicKey: [...business.identityPublicKey], identityPrivateKey: [...business.identityPrivateKey] }],
  );
  assert.deepEqual(
    batch.jobs.map((j) => ({ ...j, plaintext: [...j.plaintext], ...(j.storedSlot ? { storedSlot: [...j.storedSlot] } : {}) })),
    jobs.map((j) => ({ ...j, plaintext: [...j.plaintext], ...(j.storedSlot ? { storedSlot: [...j.storedSlot] } : {}) })),
  );
  const results = [
    { id: 1, outcome: 'sealed', sealedSlot: new Uint8Array(420).fill(3), sealedInbox: new Uint8Array(200).fill(4) },
    { id: 2, outcome: 'declined', reason: 'no current session' },
  ] as const;
  const back = decodeReply(encodeReply(results));
  assert.deepEqual(back.map((r) => (r.outcome === 'sealed' ? { ...r, sealedSlot: [...r.sealedSlot], sealedInbox: [...r.sealedInbox] } : r)), [
    { id: 1, outcome: 'sealed', sealedSlot: [...results[0].sealedSlot], sealedInbox: [...results[0].sealedInbox] },
    results[1],
  ]);
  // Sealed results are copies: a stored record does not keep the whole reply alive.
  const first = back[0]!;
  assert.ok(first.outcome === 'sealed' && first.sealedSlot.buffer.byteLength === first.sealedSlot.length);
});

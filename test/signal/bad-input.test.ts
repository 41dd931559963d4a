/**
 * Bad input: about 100,000 random and mutated inputs (bit flips, truncation,
 * extension, overwritten ranges, random bytes) to every decoder and to
 * decrypt. Each must raise only SignalError of a closed-set kind, and a
 * refused decrypt must leave the record byte-for-byte unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.js';
import type { BackendName } from '../../src/crypto/backend.js';
import { LibsignalDevice } from '../../src/harness/device/libsignal-peer.js';
import {
  IdentityKeyPair,
  SIGNAL_ERROR_KINDS,
  SessionRecord,
  SignalError,
  decryptMessage,
  processPreKeyBundle,
  type Ciphertext,
} from '../../src/signal/index.js';
import { readFields } from '../../src/signal/protobuf.js';
import { decodePreKeySignalMessage, decodeSignalMessage } from '../../src/signal/wire.js';
import { SimulatedDevice } from '../../src/harness/device/signal-device.js';
import { mutate, prng } from './fuzz.js';

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

function expectSignalError(run: () => unknown, mayPass: boolean, label: string): boolean {
  try {
    run();
  } catch (err) {
    if (!(err instanceof SignalError)) assert.fail(`${label}: threw a non-SignalError: ${String(err)}`);
    if (!SIGNAL_ERROR_KINDS.includes(err.kind)) assert.fail(`${label}: unknown kind ${err.kind}`);
    return false;
  }
  if (!mayPass) assert.fail(`${label}: a mutated input was accepted`);
  return true;
}

async function corpus(backendName: BackendName) {
  const backend = getBackend(backendName);
  const alice = new SimulatedDevice(backend, { name: 'alice' });
  const bob = new SimulatedDevice(backend, { name: 'bob' });
  alice.processBundle(bob.address, bob.bundle(true));
  const preKeyMessages: Uint8Array[] = [alice.encrypt(bob.address, new Uint8Array(5)).body];
  const pendingRecord = alice.record(bob.address).serialize();
  bob.decrypt(alice.address, { type: 3, body: preKeyMessages[0]! });
  alice.decrypt(bob.address, bob.encrypt(alice.address, new Uint8Array([1])));
  const fresh: Uint8Array[] = [];
  for (const size of [0, 1, 16, 17, 100]) fresh.push(alice.encrypt(bob.address, new Uint8Array(size).fill(size)).body);
  const skippedRecord = bob.record(alice.address).clone();
  decryptMessage(backend, bob.local, skippedRecord, { type: 2, body: fresh[4]! }); // leaves 4 skipped keys
  const peer = await LibsignalDevice.create('ls', 1);
  await peer.processBundle(bob.address, bob.bundle(false));
  preKeyMessages.push((await peer.encrypt(bob.address, new Uint8Array(20))).body); // carries field 5
  return {
    backend,
    alice,
    bob,
    fresh,
    preKeyMessages,
    records: [bob.record(alice.address).serialize(), alice.record(bob.address).serialize(), pendingRecord, skippedRecord.serialize()],
    identity: alice.local.identity.serialize(),
  };
}

test('decoders raise only SignalError on 70,000 random and mutated inputs', async () => {
  const c = await corpus('node');
  const rng = prng(0xdec0de);
  let accepted = 0;
  for (let i = 0; i < 25_000; i++) {
    const input = mutate(rng, c.fresh[rng.int(c.fresh.length)]!);
    if (expectSignalError(() => decodeSignalMessage(input), true, 'decodeSignalMessage')) accepted++;
  }
  for (let i = 0; i < 20_000; i++) {
    const input = mutate(rng, c.preKeyMessages[rng.int(c.preKeyMessages.length)]!);
    if (expectSignalError(() => decodePreKeySignalMessage(input), true, 'decodePreKeySignalMessage')) accepted++;
  }
  const schema = [undefined, 'uint32', 'bytes', 'uint32', 'bytes'] as const;
  for (let i = 0; i < 5_000; i++) {
    const input = mutate(rng, c.fresh[rng.int(c.fresh.length)]!.subarray(1));
    expectSignalError(() => readFields(input, schema), true, 'readFields');
  }
  for (let i = 0; i < 15_000; i++) {
    const input = mutate(rng, c.records[rng.int(c.records.length)]!);
    expectSignalError(() => SessionRecord.deserialize(input), true, 'SessionRecord.deserialize');
  }
  for (let i = 0; i < 5_000; i++) {
    const input = mutate(rng, c.identity);
    expectSignalError(() => IdentityKeyPair.deserialize(input), true, 'IdentityKeyPair.deserialize');
  }
  assert.ok(accepted > 100 && accepted < 45_000, `some mutations still parse (${accepted}), most do not`);
});

for (const [backendName, whisperCount, preKeyCount] of [
  ['node', 28_000, 1_200],
  ['noble', 1_500, 300],
] as [BackendName, number, number][]) {
  test(`decrypt refuses ${whisperCount + preKeyCount} mutated messages with SignalError and changes no state (${backendName})`, async () => {
    const c = await corpus(backendName);
    const rng = prng(backendName === 'node' ? 0xc1 : 0xc2);
    const bobRecord = c.bob.record(c.alice.address);
    const before = bobRecord.serialize();
    for (let i = 0; i < whisperCount; i++) {
      const original = c.fresh[rng.int(c.fresh.length)]!;
      const body = mutate(rng, original);
      if (same(body, original)) continue;
      const type = rng.int(50) === 0 ? 3 : 2;
      expectSignalError(() => decryptMessage(c.backend, c.bob.local, bobRecord, { type, body } as Ciphertext, c.bob), false, 'decrypt');
      if (i % 8 === 0) assert.ok(same(bobRecord.serialize(), before), 'record unchanged');
    }
    assert.ok(same(bobRecord.serialize(), before), 'record unchanged after the whole run');
    for (const type of [0, 1, 4, 7, 8, -1]) {
      expectSignalError(() => decryptMessage(c.backend, c.bob.local, bobRecord, { type, body: c.fresh[0]! } as unknown as Ciphertext, c.bob), false, 'bad type');
    }
    // PreKey messages against a fresh record: a mutation may only pass by touching the
    // unauthenticated registration id; then the plaintext must be the original's.
    for (let i = 0; i < preKeyCount; i++) {
      const original = c.preKeyMessages[rng.int(c.preKeyMessages.length)]!;
      const body = mutate(rng, original);
      if (same(body, original)) continue;
      const record = SessionRecord.empty();
      const passed = expectSignalError(() => {
        const r = decryptMessage(c.backend, c.bob.local, record, { type: 3, body }, c.bob);
        assert.ok(r.plaintext.length === 5 || r.plaintext.length === 20, 'a passing mutation decrypts to the original plaintext');
      }, true, 'decrypt PreKey');
      if (!passed) assert.equal(record.serialize().length, 3, 'record still empty');
    }
    // every original still decrypts: the refused inputs left no trace
    for (const [i, body] of c.fresh.entries()) {
      assert.equal(decryptMessage(c.backend, c.bob.local, bobRecord, { type: 2, body }).plaintext.length, [0, 1, 16, 17, 100][i]);
    }
  });
}

test('processPreKeyBundle refuses 400 mutated bundles with SignalError and leaves the record as it was', () => {
  const backend = getBackend('node');
  const alice = new SimulatedDevice(backend, { name: 'alice' });
  const bob = new SimulatedDevice(backend, { name: 'bob' });
  const bundle = bob.bundle(true);
  const rng = prng(0xb0b);
  let record = SessionRecord.empty();
  const before = record.serialize();
  const fields = ['identityKey', 'signedPreKey', 'signedPreKeySignature', 'kyberPreKey', 'kyberPreKeySignature', 'oneTimePreKey'] as const;
  let refused = 0;
  for (let i = 0; i < 400; i++) {
    const field = fields[rng.int(fields.length)]!;
    const mutated = { ...bundle, [field]: mutate(rng, bundle[field]!) };
    if (same(mutated[field]!, bundle[field]!)) continue;
    // a mutated one-time prekey is not signed: it may pass (as in libsignal) if it is a valid key
    const passed = expectSignalError(() => processPreKeyBundle(backend, alice.local, record, mutated), field === 'oneTimePreKey', field);
    if (passed) record = SessionRecord.empty();
    else refused++;
    assert.ok(same(record.serialize(), before), 'record unchanged');
  }
  assert.ok(refused > 300);
});

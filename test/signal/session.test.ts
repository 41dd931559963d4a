/** Session lifecycle: no-session, trusted identities, archived states, repeated PreKey messages. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.js';
import type { BackendName } from '../../src/crypto/backend.js';
import { SessionRecord, SignalError, decryptMessage, encryptMessage } from '../../src/signal/index.js';
import { SimulatedDevice } from '../../src/harness/device/signal-device.js';

const kind = (k: string) => (err: unknown) => err instanceof SignalError && err.kind === k;
const bytes = (...b: number[]) => new Uint8Array(b);

for (const backendName of ['node', 'noble'] as BackendName[]) {
  const backend = getBackend(backendName);

  test(`no session: encrypt and Whisper decrypt on an empty record throw 'no-session' (${backendName})`, () => {
    const alice = new SimulatedDevice(backend, { name: 'alice' });
    const bob = new SimulatedDevice(backend, { name: 'bob' });
    assert.throws(() => encryptMessage(backend, alice.local, SessionRecord.empty(), bytes(1)), kind('no-session'));
    alice.processBundle(bob.address, bob.bundle(false));
    bob.decrypt(alice.address, alice.encrypt(bob.address, bytes(1)));
    const reply = bob.encrypt(alice.address, bytes(2));
    assert.throws(() => decryptMessage(backend, alice.local, SessionRecord.empty(), reply), kind('no-session'));
    assert.throws(
      () => decryptMessage(backend, bob.local, SessionRecord.empty(), alice.encrypt(bob.address, bytes(3))),
      kind('invalid-prekey-id'),
      'a PreKey message without a prekey lookup',
    );
  });

  test(`trusted identity: a different sender identity is 'untrusted-identity' and changes nothing (${backendName})`, () => {
    const alice = new SimulatedDevice(backend, { name: 'alice' });
    const bob = new SimulatedDevice(backend, { name: 'bob', signedPreKeyId: 7, kyberPreKeyId: 9 });
    const mallory = new SimulatedDevice(backend, { name: 'mallory' });
    alice.processBundle(bob.address, bob.bundle(true));
    const first = alice.encrypt(bob.address, bytes(1));
    const record = SessionRecord.empty();
    assert.throws(
      () => decryptMessage(backend, bob.local, record, first, bob, mallory.local.identity.publicKey),
      kind('untrusted-identity'),
    );
    assert.equal(record.hasCurrentSession(), false);
    const ok = decryptMessage(backend, bob.local, record, first, bob, alice.local.identity.publicKey);
    assert.deepEqual(ok.plaintext, bytes(1));
    assert.deepEqual(ok.remoteIdentityKey, alice.local.identity.publicKey);
    assert.equal(ok.remoteRegistrationId, alice.local.registrationId);
    assert.equal(ok.usedSignedPreKeyId, 7);
    assert.equal(ok.usedKyberPreKeyId, 9);
    assert.equal(typeof ok.usedOneTimePreKeyId, 'number');
    assert.deepEqual(record.remoteIdentityKey(), alice.local.identity.publicKey);
    const second = alice.encrypt(bob.address, bytes(2));
    const before = record.serialize();
    assert.throws(
      () => decryptMessage(backend, bob.local, record, second, bob, mallory.local.identity.publicKey),
      kind('untrusted-identity'),
    );
    assert.deepEqual(record.serialize(), before);
    // a repeated PreKey message goes to the session its base key created: no prekey ids reported
    const again = decryptMessage(backend, bob.local, record, second, bob);
    assert.deepEqual(again.plaintext, bytes(2));
    assert.equal(again.usedOneTimePreKeyId, undefined);
  });

  test(`a new session archives the old one; in-flight messages of the old session still decrypt (${backendName})`, () => {
    const alice = new SimulatedDevice(backend, { name: 'alice' });
    const bob = new SimulatedDevice(backend, { name: 'bob' });
    alice.processBundle(bob.address, bob.bundle(true));
    bob.decrypt(alice.address, alice.encrypt(bob.address, bytes(1)));
    alice.decrypt(bob.address, bob.encrypt(alice.address, bytes(2)));
    const oldInFlight = alice.encrypt(bob.address, bytes(3));
    const bobOldInFlight = bob.encrypt(alice.address, bytes(4));
    // Alice starts over (e.g. a reinstall keeps her identity): new session, old one archived
    alice.processBundle(bob.address, bob.bundle(false));
    const fresh = alice.encrypt(bob.address, bytes(5));
    assert.equal(fresh.type, 3);
    assert.deepEqual(bob.decrypt(alice.address, fresh), bytes(5));
    assert.equal(bob.record(alice.address).previous.length, 1);
    assert.deepEqual(bob.decrypt(alice.address, oldInFlight), bytes(3), 'archived state decrypts');
    assert.deepEqual(alice.decrypt(bob.address, bobOldInFlight), bytes(4), 'archived state decrypts on the initiator too');
    // the state that decrypted last became current again; both keep talking
    const r = SessionRecord.deserialize(bob.record(alice.address).serialize());
    assert.equal(r.previous.length, 1);
    assert.deepEqual(alice.decrypt(bob.address, bob.encrypt(alice.address, bytes(6))), bytes(6));
    assert.deepEqual(bob.decrypt(alice.address, alice.encrypt(bob.address, bytes(7))), bytes(7));
    assert.deepEqual(alice.decrypt(bob.address, bob.encrypt(alice.address, bytes(8))), bytes(8));
  });
}

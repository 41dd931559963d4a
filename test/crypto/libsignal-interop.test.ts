import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as SignalClient from '@signalapp/libsignal-client';
import { backendNames, getBackend } from '../../src/crypto/index.js';

/** libsignal's typings want ArrayBuffer-backed arrays. */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}
/** libsignal serializes EC public keys as 0x05 ‖ u (signal-wire.md §2). */
function rawPublicKey(key: SignalClient.PublicKey): Uint8Array {
  return key.serialize().subarray(1);
}
function signalPublicKey(raw: Uint8Array): SignalClient.PublicKey {
  const serialized = new Uint8Array(33);
  serialized[0] = 0x05;
  serialized.set(raw, 1);
  return SignalClient.PublicKey.deserialize(serialized);
}

const SIGNATURES = 200;

for (const name of backendNames) {
  const crypto = getBackend(name);

  test(`${name}: libsignal signatures verify in ours, including sign-bit-set ones`, () => {
    let signBitSet = 0;
    for (let i = 0; i < SIGNATURES; i++) {
      const privateKey = SignalClient.PrivateKey.generate();
      const message = owned(crypto.randomBytes(i % 80));
      const signature = privateKey.sign(message);
      if ((signature[63]! & 0x80) !== 0) signBitSet++;
      const publicKey = rawPublicKey(privateKey.getPublicKey());
      assert.equal(crypto.xeddsaVerify(publicKey, message, signature), true, `signature ${i}`);
      const tampered = signature.slice();
      tampered[(i * 7) % 64] = tampered[(i * 7) % 64]! ^ (1 << (i % 8));
      assert.equal(crypto.xeddsaVerify(publicKey, message, tampered), false, `tampered ${i}`);
      assert.equal(privateKey.getPublicKey().verify(message, tampered), false);
    }
    // About half of libsignal's signatures carry A's sign bit in sig[63] (signal-wire.md §2).
    assert.ok(signBitSet > 20 && signBitSet < SIGNATURES - 20, `sign bit set in ${signBitSet}/${SIGNATURES}`);
  });

  test(`${name}: our signatures verify in libsignal, tampered ones do not`, () => {
    for (let i = 0; i < SIGNATURES; i++) {
      const privateKey = SignalClient.PrivateKey.generate();
      const ourPrivate = privateKey.serialize();
      const message = owned(crypto.randomBytes(i % 80));
      const signature = crypto.xeddsaSign(ourPrivate, message);
      assert.equal(privateKey.getPublicKey().verify(message, owned(signature)), true, `signature ${i}`);
      const tampered = signature.slice();
      tampered[(i * 11) % 64] = tampered[(i * 11) % 64]! ^ (1 << (i % 8));
      assert.equal(privateKey.getPublicKey().verify(message, owned(tampered)), false, `tampered ${i}`);
      assert.equal(crypto.xeddsaVerify(rawPublicKey(privateKey.getPublicKey()), message, tampered), false);
    }
  });

  test(`${name}: keys made by our backend sign for libsignal (signed prekey over 0x05 ‖ key)`, () => {
    for (let i = 0; i < 20; i++) {
      const identity = crypto.x25519GenerateKeyPair();
      const preKey = crypto.x25519GenerateKeyPair();
      const serializedPreKey = new Uint8Array(33);
      serializedPreKey[0] = 0x05;
      serializedPreKey.set(preKey.publicKey, 1);
      const signature = crypto.xeddsaSign(identity.privateKey, serializedPreKey);
      assert.equal(signalPublicKey(identity.publicKey).verify(owned(serializedPreKey), owned(signature)), true);
    }
  });

  test(`${name}: X25519 agreement matches libsignal PrivateKey.agree`, () => {
    for (let i = 0; i < 20; i++) {
      const theirs = SignalClient.PrivateKey.generate();
      const ours = crypto.x25519GenerateKeyPair();
      const expected = theirs.agree(signalPublicKey(ours.publicKey));
      assert.deepEqual(crypto.x25519(ours.privateKey, rawPublicKey(theirs.getPublicKey())), new Uint8Array(expected));
      assert.deepEqual(crypto.x25519PublicKey(theirs.serialize()), rawPublicKey(theirs.getPublicKey()));
      const back = SignalClient.PrivateKey.deserialize(owned(ours.privateKey));
      assert.deepEqual(rawPublicKey(back.getPublicKey()), ours.publicKey);
    }
  });

  test(`${name}: libsignal Kyber1024 key pairs (0x08 stripped) work with our encapsulate/decapsulate`, () => {
    // libsignal-client 0.90.0 exposes no encapsulate/decapsulate to JS; session-level PQXDH
    // interop (src/signal tests) is the proof that the round-3 shared secret matches.
    for (let i = 0; i < 3; i++) {
      const pair = SignalClient.KEMKeyPair.generate();
      const publicSerialized = pair.getPublicKey().serialize();
      const secretSerialized = pair.getSecretKey().serialize();
      assert.equal(publicSerialized[0], 0x08);
      assert.equal(secretSerialized[0], 0x08);
      const publicKey = publicSerialized.subarray(1);
      const secretKey = secretSerialized.subarray(1);
      assert.equal(publicKey.length, 1568);
      assert.equal(secretKey.length, 3168);
      // FIPS 203 §7.3 / round-3 layout: dk = dk_PKE ‖ ek ‖ H(ek) ‖ z — the embedded ek is ours.
      assert.deepEqual(secretKey.subarray(1536, 1536 + 1568), publicKey);
      assert.deepEqual(secretKey.subarray(3104, 3136), crypto.sha3_256(publicKey));
      const { ciphertext, sharedSecret } = crypto.kyber1024Encapsulate(publicKey);
      assert.deepEqual(crypto.kyber1024Decapsulate(ciphertext, secretKey), sharedSecret);
      // Our keys load in libsignal with the 0x08 prefix.
      const ourPair = crypto.kyber1024GenerateKeyPair();
      const prefixed = new Uint8Array(1569);
      prefixed[0] = 0x08;
      prefixed.set(ourPair.publicKey, 1);
      assert.deepEqual(new Uint8Array(SignalClient.KEMPublicKey.deserialize(prefixed).serialize()), prefixed);
    }
  });
}

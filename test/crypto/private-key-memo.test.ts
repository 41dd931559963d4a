import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendNames, getBackend } from '../../src/crypto/index.js';
import { PrivateKeyMemo } from '../../src/crypto/private-key-memo.js';

test('private key memo: derives once per key array, again after the bytes change', () => {
  const memo = new PrivateKeyMemo<number>();
  let derivations = 0;
  const derive = (key: Uint8Array): number => {
    derivations++;
    return key[0]!;
  };
  const key = new Uint8Array([7, 1, 2]);
  assert.equal(memo.get(key, derive), 7);
  assert.equal(memo.get(key, derive), 7);
  assert.equal(derivations, 1);
  key[0] = 9;
  assert.equal(memo.get(key, derive), 9);
  assert.equal(derivations, 2);
  assert.equal(memo.get(new Uint8Array([9, 1, 2]), derive), 9); // another array: its own entry
  assert.equal(derivations, 3);
});

for (const name of backendNames) {
  const crypto = getBackend(name);

  test(`${name}: a private key overwritten in place is never served a memoized result`, () => {
    const first = crypto.x25519GenerateKeyPair();
    const second = crypto.x25519GenerateKeyPair();
    const peer = crypto.x25519GenerateKeyPair();
    const message = new Uint8Array([1, 2, 3]);
    const random = new Uint8Array(64).fill(5);

    const key = first.privateKey.slice();
    assert.deepEqual(crypto.x25519(key, peer.publicKey), crypto.x25519(first.privateKey.slice(), peer.publicKey));
    const firstSignature = crypto.xeddsaSign(key, message, random);
    assert.deepEqual(crypto.xeddsaSign(key, message, random), firstSignature);

    key.set(second.privateKey);
    assert.deepEqual(crypto.x25519(key, peer.publicKey), crypto.x25519(second.privateKey.slice(), peer.publicKey));
    const secondSignature = crypto.xeddsaSign(key, message, random);
    assert.deepEqual(secondSignature, crypto.xeddsaSign(second.privateKey.slice(), message, random));
    assert.notDeepEqual(secondSignature, firstSignature);
    assert.equal(crypto.xeddsaVerify(second.publicKey, message, secondSignature), true);
    assert.equal(crypto.xeddsaVerify(first.publicKey, message, secondSignature), false);
  });
}

test('node: a generated key pair is remembered for its own array only, and re-derived after an overwrite', () => {
  const node = getBackend('node');
  const noble = getBackend('noble');
  const generated = node.x25519GenerateKeyPair();
  const other = noble.x25519GenerateKeyPair();
  const peer = noble.x25519GenerateKeyPair();
  const expected = noble.x25519(generated.privateKey.slice(), peer.publicKey);
  assert.deepEqual(node.x25519(generated.privateKey, peer.publicKey), expected);
  assert.deepEqual(node.x25519PublicKey(generated.privateKey), generated.publicKey);
  generated.privateKey.set(other.privateKey); // the remembered KeyObject no longer matches these bytes
  assert.deepEqual(node.x25519(generated.privateKey, peer.publicKey), noble.x25519(other.privateKey, peer.publicKey));
  assert.deepEqual(node.x25519PublicKey(generated.privateKey), other.publicKey);
});

for (const name of backendNames) {
  test(`${name}: XEdDSA verify with alternating keys (the last-key conversion cache never answers for another key)`, () => {
    const crypto = getBackend(name);
    const a = crypto.x25519GenerateKeyPair();
    const b = crypto.x25519GenerateKeyPair();
    const message = new Uint8Array([4, 5, 6]);
    const sigA = crypto.xeddsaSign(a.privateKey, message);
    const sigB = crypto.xeddsaSign(b.privateKey, message);
    for (let round = 0; round < 3; round++) {
      assert.equal(crypto.xeddsaVerify(a.publicKey, message, sigA), true);
      assert.equal(crypto.xeddsaVerify(a.publicKey, message, sigB), false);
      assert.equal(crypto.xeddsaVerify(b.publicKey, message, sigB), true);
      assert.equal(crypto.xeddsaVerify(b.publicKey, message, sigA), false);
      const publicKeyInPlace = a.publicKey.slice();
      assert.equal(crypto.xeddsaVerify(publicKeyInPlace, message, sigA), true);
      publicKeyInPlace.set(b.publicKey); // same array, other bytes
      assert.equal(crypto.xeddsaVerify(publicKeyInPlace, message, sigA), false);
      assert.equal(crypto.xeddsaVerify(publicKeyInPlace, message, sigB), true);
    }
  });
}

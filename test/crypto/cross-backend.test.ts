import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoError, nobleBackend, nodeBackend } from '../../src/crypto/index.js';
import { nodeSymmetricWith } from '../../src/crypto/node.js';
import { chooseKeyArgument, KEY_ARGUMENT_ENV } from '../../src/crypto/node-key-argument.js';
import { seeded } from './vectors.js';

// Identical bytes from both backends for every deterministic operation (backend.ts contract).
const noble = nobleBackend;
const node = nodeBackend;


test('cross-backend: X25519 public keys and shared secrets', () => {
  for (let i = 0; i < 20; i++) {
    const a = noble.x25519GenerateKeyPair();
    const b = node.x25519GenerateKeyPair();
    assert.deepEqual(node.x25519PublicKey(a.privateKey), a.publicKey);
    assert.deepEqual(noble.x25519PublicKey(b.privateKey), b.publicKey);
    const shared = noble.x25519(a.privateKey, b.publicKey);
    assert.deepEqual(node.x25519(a.privateKey, b.publicKey), shared);
    assert.deepEqual(node.x25519(b.privateKey, a.publicKey), shared);
    // Unclamped scalars and a public key with the top bit set (RFC 7748 §5 masks it).
    const rawScalar = seeded(32, i + 1);
    const rawU = seeded(32, i + 101);
    rawU[31] = rawU[31]! | 0x80;
    assert.deepEqual(node.x25519(rawScalar, rawU), noble.x25519(rawScalar, rawU));
  }
});

test('cross-backend: HKDF, HMAC and hashes over many lengths', () => {
  for (let n = 0; n < 200; n += 13) {
    const ikm = seeded(n, n + 1);
    const salt = seeded(n % 70, n + 2);
    const info = seeded(n % 40, n + 3);
    for (const length of [0, 1, 32, 64, 80, 96, 255]) {
      assert.deepEqual(node.hkdfSha256(ikm, salt, info, length), noble.hkdfSha256(ikm, salt, info, length));
    }
    assert.deepEqual(node.hmacSha256(salt, ikm), noble.hmacSha256(salt, ikm));
    assert.deepEqual(node.sha256(ikm), noble.sha256(ikm));
    assert.deepEqual(node.sha512(ikm), noble.sha512(ikm));
    assert.deepEqual(node.sha3_256(ikm), noble.sha3_256(ikm));
    assert.deepEqual(node.shake256(ikm, 32 + n), noble.shake256(ikm, 32 + n));
  }
});

test('cross-backend: AES-256-CBC and AES-256-GCM', () => {
  for (let n = 0; n < 300; n += 17) {
    const key = seeded(32, n + 7);
    const iv = seeded(16, n + 8);
    const plaintext = seeded(n, n + 9);
    const sealed = noble.aes256CbcEncrypt(key, iv, plaintext);
    assert.deepEqual(node.aes256CbcEncrypt(key, iv, plaintext), sealed);
    assert.deepEqual(node.aes256CbcDecrypt(key, iv, sealed), plaintext);
    const nonce = iv.subarray(0, 12);
    const aad = seeded(n % 33, n + 10);
    const gcmSealed = noble.aes256GcmEncrypt(key, nonce, plaintext, aad);
    assert.deepEqual(node.aes256GcmEncrypt(key, nonce, plaintext, aad), gcmSealed);
    assert.deepEqual(node.aes256GcmDecrypt(key, nonce, gcmSealed, aad), plaintext);
    assert.deepEqual(noble.aes256GcmDecrypt(key, nonce, node.aes256GcmEncrypt(key, nonce, plaintext), undefined), plaintext);
  }
});

test('cross-backend: XEdDSA signatures are identical for a fixed random and verify on both', () => {
  for (let i = 0; i < 16; i++) {
    const { privateKey, publicKey } = noble.x25519GenerateKeyPair();
    const message = seeded(i * 7, i + 50);
    const random = seeded(64, i + 60);
    const signature = noble.xeddsaSign(privateKey, message, random);
    assert.deepEqual(node.xeddsaSign(privateKey, message, random), signature);
    assert.equal(signature[63]! & 0x80, 0, 'spec signing forces the sign bit to 0');
    assert.equal(noble.xeddsaVerify(publicKey, message, signature), true);
    assert.equal(node.xeddsaVerify(publicKey, message, signature), true);
    const tampered = signature.slice();
    tampered[i % 64] = tampered[i % 64]! ^ 0x01;
    assert.equal(noble.xeddsaVerify(publicKey, message, tampered), false);
    assert.equal(node.xeddsaVerify(publicKey, message, tampered), false);
  }
});

test('cross-backend: Kyber1024 decapsulation agrees on the same ciphertext and key', () => {
  for (const [generator, encapsulator] of [
    [noble, node],
    [node, noble],
  ] as const) {
    const pair = generator.kyber1024GenerateKeyPair();
    assert.equal(pair.publicKey.length, 1568);
    assert.equal(pair.secretKey.length, 3168);
    const { ciphertext, sharedSecret } = encapsulator.kyber1024Encapsulate(pair.publicKey);
    assert.equal(ciphertext.length, 1568);
    assert.equal(sharedSecret.length, 32);
    assert.deepEqual(noble.kyber1024Decapsulate(ciphertext, pair.secretKey), sharedSecret);
    assert.deepEqual(node.kyber1024Decapsulate(ciphertext, pair.secretKey), sharedSecret);
    // A corrupted ciphertext gives an implicit-rejection value, deterministic per backend but
    // not across them: round-3 Kyber and ML-KEM derive it differently (signal-wire.md §4), and
    // either way the Signal layer ends in a MAC failure.
    const corrupted = ciphertext.slice();
    corrupted[0] = corrupted[0]! ^ 0xff;
    for (const backend of [noble, node]) {
      const rejected = backend.kyber1024Decapsulate(corrupted, pair.secretKey);
      assert.equal(rejected.length, 32);
      assert.notDeepEqual(rejected, sharedSecret);
      assert.deepEqual(backend.kyber1024Decapsulate(corrupted, pair.secretKey), rejected);
    }
  }
});

test('cross-backend: providers name an implementation for every primitive', () => {
  for (const backend of [noble, node]) {
    for (const primitive of ['x25519', 'xeddsa', 'hkdfSha256', 'hmacSha256', 'aes256Cbc', 'aes256Gcm', 'kyber1024']) {
      assert.equal(typeof backend.providers[primitive], 'string', `${backend.name}.${primitive}`);
    }
  }
  assert.match(node.providers['x25519']!, /node:crypto/);
  assert.match(noble.providers['kyber1024']!, /round-3 adapter/);
});

test('cross-backend: node\'s keyed primitives give noble\'s bytes with keys handed over as bytes and as KeyObjects', () => {
  for (const mode of ['bytes', 'key-object'] as const) {
    const node = nodeSymmetricWith(mode);
    for (let n = 0; n < 300; n += 23) {
      const key = seeded(32, n + 70);
      const iv = seeded(16, n + 71);
      const data = seeded(n, n + 72); // crosses the 55-byte line where HMAC leaves JavaScript for OpenSSL
      assert.deepEqual(node.hmacSha256(key, data), noble.hmacSha256(key, data), `${mode}: HMAC of ${n} B`);
      const cbc = noble.aes256CbcEncrypt(key, iv, data);
      assert.deepEqual(node.aes256CbcEncrypt(key, iv, data), cbc, `${mode}: CBC of ${n} B`);
      assert.deepEqual(node.aes256CbcDecrypt(key, iv, cbc), data);
      const nonce = iv.subarray(0, 12);
      const gcm = noble.aes256GcmEncrypt(key, nonce, data, iv);
      assert.deepEqual(node.aes256GcmEncrypt(key, nonce, data, iv), gcm, `${mode}: GCM of ${n} B`);
      assert.deepEqual(node.aes256GcmDecrypt(key, nonce, gcm, iv), data);
      const forged = gcm.slice();
      forged[0] = forged[0]! ^ 1;
      assert.throws(() => node.aes256GcmDecrypt(key, nonce, forged, iv), (e: unknown) => e instanceof CryptoError && e.kind === 'bad-tag');
      assert.throws(() => node.aes256CbcEncrypt(key.subarray(1), iv, data), (e: unknown) => e instanceof CryptoError && e.kind === 'invalid-key');
    }
  }
});

test('node key argument: the environment forces a mode, a wrong value is refused, else it is measured', () => {
  assert.deepEqual(chooseKeyArgument('bytes'), { mode: 'bytes', reason: `${KEY_ARGUMENT_ENV}=bytes` });
  assert.equal(chooseKeyArgument('key-object').mode, 'key-object');
  assert.throws(() => chooseKeyArgument('keyobject'), RangeError);
  const measured = chooseKeyArgument('');
  assert.ok(measured.mode === 'bytes' || measured.mode === 'key-object');
  assert.match(measured.reason, /a byte key measured \d+\.\d× a fresh KeyObject/);
  assert.match(nodeBackend.providers['symmetricKeys']!, /^handed to node:crypto as (bytes|key-object) \(/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendNames, getBackend } from '../../src/crypto/index.js';
import {
  abcDigests,
  aes256CbcSp80038a,
  aes256GcmTestCase16,
  hex,
  hkdfRfc5869,
  hmacRfc4231Case1,
  toHex,
  x25519Iterated1,
  x25519Rfc7748,
  x25519Rfc7748Dh,
} from './vectors.js';

const abc = new TextEncoder().encode('abc');

for (const name of backendNames) {
  const crypto = getBackend(name);

  test(`${name}: X25519 RFC 7748 §5.2 vectors`, () => {
    for (const v of x25519Rfc7748) {
      assert.equal(toHex(crypto.x25519(hex(v.scalar), hex(v.u))), v.out);
    }
    const nine = new Uint8Array(32);
    nine[0] = 9;
    assert.equal(toHex(crypto.x25519(nine, nine)), x25519Iterated1);
  });

  test(`${name}: X25519 RFC 7748 §6.1 Alice/Bob`, () => {
    const v = x25519Rfc7748Dh;
    assert.equal(toHex(crypto.x25519PublicKey(hex(v.alicePrivate))), v.alicePublic);
    assert.equal(toHex(crypto.x25519PublicKey(hex(v.bobPrivate))), v.bobPublic);
    assert.equal(toHex(crypto.x25519(hex(v.alicePrivate), hex(v.bobPublic))), v.shared);
    assert.equal(toHex(crypto.x25519(hex(v.bobPrivate), hex(v.alicePublic))), v.shared);
  });

  test(`${name}: generated X25519 key pairs are clamped and agree`, () => {
    const alice = crypto.x25519GenerateKeyPair();
    const bob = crypto.x25519GenerateKeyPair();
    for (const pair of [alice, bob]) {
      assert.equal(pair.privateKey[0]! & 7, 0);
      assert.equal(pair.privateKey[31]! & 0xc0, 0x40);
      assert.deepEqual(crypto.x25519PublicKey(pair.privateKey), pair.publicKey);
    }
    assert.deepEqual(crypto.x25519(alice.privateKey, bob.publicKey), crypto.x25519(bob.privateKey, alice.publicKey));
  });

  test(`${name}: HKDF-SHA256 RFC 5869 A.1–A.3`, () => {
    for (const v of hkdfRfc5869) {
      assert.equal(toHex(crypto.hkdfSha256(v.ikm, v.salt, v.info, v.length)), v.okm, v.name);
    }
  });

  test(`${name}: HMAC-SHA256 RFC 4231 case 1`, () => {
    const v = hmacRfc4231Case1;
    assert.equal(toHex(crypto.hmacSha256(v.key, new TextEncoder().encode(v.data))), v.mac);
  });

  test(`${name}: hashes of "abc" (FIPS 180-4, FIPS 202)`, () => {
    assert.equal(toHex(crypto.sha256(abc)), abcDigests.sha256);
    assert.equal(toHex(crypto.sha512(abc)), abcDigests.sha512);
    assert.equal(toHex(crypto.sha3_256(abc)), abcDigests.sha3_256);
    assert.equal(toHex(crypto.shake256(abc, 64)), abcDigests.shake256_64);
    assert.equal(toHex(crypto.shake256(abc, 32)), abcDigests.shake256_64.slice(0, 64));
  });

  test(`${name}: AES-256-CBC SP 800-38A F.2.5/F.2.6 through the PKCS#7 path`, () => {
    const v = aes256CbcSp80038a;
    const key = hex(v.key);
    const iv = hex(v.iv);
    // Four whole blocks in → PKCS#7 appends one full block of 0x10; the first four
    // ciphertext blocks are exactly the raw-CBC vector (F.2.5).
    const sealed = crypto.aes256CbcEncrypt(key, iv, hex(v.plaintext));
    assert.equal(sealed.length, 80);
    assert.equal(toHex(sealed.subarray(0, 64)), v.ciphertext);
    // Derived padding block: E_K(0x10^16 XOR C4).
    const c4 = hex(v.ciphertext).subarray(48, 64);
    const padBlockAlone = crypto.aes256CbcEncrypt(key, c4, new Uint8Array(0));
    assert.deepEqual(sealed.subarray(64), padBlockAlone);
    // F.2.6: decrypting the vector ciphertext (plus the derived padding block) gives the plaintext.
    assert.equal(toHex(crypto.aes256CbcDecrypt(key, iv, sealed)), v.plaintext);
  });

  test(`${name}: AES-256-CBC PKCS#7 round trips at every length 0..48`, () => {
    const key = crypto.randomBytes(32);
    const iv = crypto.randomBytes(16);
    for (let n = 0; n <= 48; n++) {
      const plaintext = crypto.randomBytes(n);
      const sealed = crypto.aes256CbcEncrypt(key, iv, plaintext);
      assert.equal(sealed.length, (Math.floor(n / 16) + 1) * 16);
      assert.deepEqual(crypto.aes256CbcDecrypt(key, iv, sealed), plaintext);
    }
  });

  test(`${name}: AES-256-GCM McGrew–Viega test case 16`, () => {
    const v = aes256GcmTestCase16;
    const sealed = crypto.aes256GcmEncrypt(hex(v.key), hex(v.nonce), hex(v.plaintext), hex(v.aad));
    assert.equal(toHex(sealed), v.ciphertext + v.tag);
    assert.equal(toHex(crypto.aes256GcmDecrypt(hex(v.key), hex(v.nonce), sealed, hex(v.aad))), v.plaintext);
  });
}

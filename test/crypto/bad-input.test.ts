import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoError, backendNames, getBackend, type CryptoErrorKind } from '../../src/crypto/index.js';

function throwsKind(fn: () => unknown, kind: CryptoErrorKind): void {
  assert.throws(fn, (error: unknown) => error instanceof CryptoError && error.kind === kind);
}

/** RFC 7748 §6.1 / libsodium blocklist: Montgomery points of small order. */
const lowOrderPoints = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

for (const name of backendNames) {
  const crypto = getBackend(name);
  const key32 = new Uint8Array(32).fill(1);

  test(`${name}: wrong-length keys raise invalid-key`, () => {
    throwsKind(() => crypto.x25519(new Uint8Array(31), key32), 'invalid-key');
    throwsKind(() => crypto.x25519(key32, new Uint8Array(33)), 'invalid-key');
    throwsKind(() => crypto.x25519PublicKey(new Uint8Array(0)), 'invalid-key');
    throwsKind(() => crypto.xeddsaSign(new Uint8Array(33), new Uint8Array(1)), 'invalid-key');
    throwsKind(() => crypto.xeddsaVerify(new Uint8Array(33), new Uint8Array(1), new Uint8Array(64)), 'invalid-key');
    throwsKind(() => crypto.aes256CbcEncrypt(new Uint8Array(16), new Uint8Array(16), new Uint8Array(1)), 'invalid-key');
    throwsKind(() => crypto.aes256GcmEncrypt(new Uint8Array(24), new Uint8Array(12), new Uint8Array(1)), 'invalid-key');
    throwsKind(() => crypto.kyber1024Encapsulate(new Uint8Array(1569)), 'invalid-key');
    throwsKind(() => crypto.kyber1024Decapsulate(new Uint8Array(1568), new Uint8Array(3169)), 'invalid-key');
  });

  test(`${name}: wrong-length IVs, nonces, ciphertexts and outputs raise invalid-length`, () => {
    throwsKind(() => crypto.aes256CbcEncrypt(key32, new Uint8Array(12), new Uint8Array(1)), 'invalid-length');
    throwsKind(() => crypto.aes256CbcDecrypt(key32, new Uint8Array(17), new Uint8Array(16)), 'invalid-length');
    throwsKind(() => crypto.aes256CbcDecrypt(key32, new Uint8Array(16), new Uint8Array(15)), 'invalid-length');
    throwsKind(() => crypto.aes256CbcDecrypt(key32, new Uint8Array(16), new Uint8Array(0)), 'invalid-length');
    throwsKind(() => crypto.aes256GcmEncrypt(key32, new Uint8Array(16), new Uint8Array(1)), 'invalid-length');
    throwsKind(() => crypto.aes256GcmDecrypt(key32, new Uint8Array(12), new Uint8Array(15)), 'invalid-length');
    throwsKind(() => crypto.hkdfSha256(key32, key32, key32, 255 * 32 + 1), 'invalid-length');
    throwsKind(() => crypto.hkdfSha256(key32, key32, key32, -1), 'invalid-length');
    throwsKind(() => crypto.kyber1024Decapsulate(new Uint8Array(1567), new Uint8Array(3168)), 'invalid-length');
  });

  test(`${name}: XEdDSA random of the wrong length raises invalid-signature-input`, () => {
    const { privateKey } = crypto.x25519GenerateKeyPair();
    throwsKind(() => crypto.xeddsaSign(privateKey, new Uint8Array(3), new Uint8Array(32)), 'invalid-signature-input');
  });

  test(`${name}: X25519 with a low-order public key (all-zero result) raises invalid-key`, () => {
    const { privateKey } = crypto.x25519GenerateKeyPair();
    for (const point of lowOrderPoints) {
      throwsKind(() => crypto.x25519(privateKey, Buffer.from(point, 'hex')), 'invalid-key');
    }
  });

  test(`${name}: AES-CBC with broken PKCS#7 padding raises bad-padding`, () => {
    const iv = new Uint8Array(16);
    const sealed = crypto.aes256CbcEncrypt(key32, iv, new TextEncoder().encode('nine byte'));
    // Flip the IV so the single block's last byte (the pad length) decrypts to something invalid.
    let badPadding = 0;
    for (let flip = 1; flip < 256; flip++) {
      const badIv = iv.slice();
      badIv[15] = flip;
      try {
        crypto.aes256CbcDecrypt(key32, badIv, sealed);
      } catch (error) {
        assert.ok(error instanceof CryptoError && error.kind === 'bad-padding');
        badPadding++;
      }
    }
    assert.ok(badPadding >= 250, `bad-padding raised for ${badPadding} of 255 flips`);
    throwsKind(() => crypto.aes256CbcDecrypt(crypto.randomBytes(32), iv, sealed.subarray(0, 16).fill(0)), 'bad-padding');
  });

  test(`${name}: AES-GCM with a wrong tag, ciphertext or AAD raises bad-tag`, () => {
    const nonce = new Uint8Array(12).fill(3);
    const aad = new Uint8Array([1, 2, 3]);
    const sealed = crypto.aes256GcmEncrypt(key32, nonce, new Uint8Array(40).fill(9), aad);
    for (const index of [0, 39, 40, sealed.length - 1]) {
      const tampered = sealed.slice();
      tampered[index] = tampered[index]! ^ 1;
      throwsKind(() => crypto.aes256GcmDecrypt(key32, nonce, tampered, aad), 'bad-tag');
    }
    throwsKind(() => crypto.aes256GcmDecrypt(key32, nonce, sealed, new Uint8Array([1, 2, 4])), 'bad-tag');
    throwsKind(() => crypto.aes256GcmDecrypt(key32, nonce, sealed), 'bad-tag');
  });

  test(`${name}: XEdDSA verify answers false (never throws) on malformed signatures and keys`, () => {
    const { privateKey, publicKey } = crypto.x25519GenerateKeyPair();
    const message = new Uint8Array([1, 2, 3]);
    const signature = crypto.xeddsaSign(privateKey, message);
    assert.equal(crypto.xeddsaVerify(publicKey, message, signature), true);
    assert.equal(crypto.xeddsaVerify(publicKey, message, signature.subarray(0, 63)), false);
    assert.equal(crypto.xeddsaVerify(publicKey, message, new Uint8Array(65)), false);
    assert.equal(crypto.xeddsaVerify(publicKey, message, new Uint8Array(64)), false);
    assert.equal(crypto.xeddsaVerify(publicKey, message, new Uint8Array(64).fill(0xff)), false);
    // s ≥ 2^253 (top bits of sig[63] below the sign bit) is rejected (XEdDSA §3.3).
    const bigS = signature.slice();
    bigS[63] = bigS[63]! | 0x20;
    assert.equal(crypto.xeddsaVerify(publicKey, message, bigS), false);
    // s + q is accepted by libsignal's rule (s < 2^253): the generic path must agree.
    const q = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(signature[32 + i]!);
    const sPlusQ = s + q;
    const shifted = signature.slice();
    for (let i = 0; i < 32; i++) shifted[32 + i] = Number((sPlusQ >> BigInt(8 * i)) & 0xffn);
    assert.equal(crypto.xeddsaVerify(publicKey, message, shifted), true);
    // Low-order and non-canonical public keys never verify.
    for (const point of lowOrderPoints) {
      assert.equal(crypto.xeddsaVerify(Buffer.from(point, 'hex'), message, signature), false);
    }
    assert.equal(crypto.xeddsaVerify(new Uint8Array(32).fill(0xff), message, signature), false);
  });
}

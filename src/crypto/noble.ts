/**
 * The `noble` backend: pure JavaScript, runs anywhere (Node, browsers, workers).
 * @noble/curves (X25519, Edwards arithmetic for XEdDSA), @noble/hashes (SHA-2, SHA-3, HMAC,
 * HKDF), @noble/ciphers (AES-CBC with PKCS#7, AES-GCM), @noble/post-quantum (ML-KEM-1024 with
 * the round-3 Kyber adapter of signal-wire.md §4).
 */
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { sha3_256 as nobleSha3_256, shake256 as nobleShake256 } from '@noble/hashes/sha3.js';
import { hmac } from '@noble/hashes/hmac.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import { cbc, gcm } from '@noble/ciphers/aes.js';
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import type { CryptoBackend, KyberKeyPair, X25519KeyPair } from './backend.js';
import { CryptoError } from './errors.js';
import {
  AES256_KEY_BYTES,
  AES_BLOCK_BYTES,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
  HKDF_SHA256_MAX_BYTES,
  X25519_KEY_BYTES,
  XEDDSA_RANDOM_BYTES,
  clampX25519PrivateKey,
  requireBytes,
  requireCbcCiphertext,
  requireNonZeroSharedSecret,
  requireOutputLength,
  requireUint8Array,
} from './input-checks.js';
import { kyber1024Decapsulate, kyber1024Encapsulate, type KeccakHashes, type MlKem1024Core } from './kyber1024.js';
import { xeddsaSign, xeddsaVerify } from './xeddsa.js';

const EMPTY = new Uint8Array(0);

export function randomBytes(length: number): Uint8Array {
  requireOutputLength(length, 2 ** 16, 'random length');
  return nobleRandomBytes(length);
}

export const nobleKeccak: KeccakHashes = {
  sha3_256: (data) => nobleSha3_256(data),
  shake256: (data, outputLength) => nobleShake256(data, { dkLen: outputLength }),
};

/** @noble/post-quantum ML-KEM-1024 (FIPS 203) as the adapter's core. */
export const nobleMlKem1024: MlKem1024Core = {
  generateKeyPair(): KyberKeyPair {
    const { publicKey, secretKey } = ml_kem1024.keygen();
    return { publicKey, secretKey };
  },
  encapsulate(publicKey, m) {
    const { cipherText, sharedSecret } = ml_kem1024.encapsulate(publicKey, m);
    return { ciphertext: cipherText, sharedSecret };
  },
  decapsulate(ciphertext, secretKey) {
    return ml_kem1024.decapsulate(ciphertext, secretKey);
  },
};

function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  requireBytes(privateKey, X25519_KEY_BYTES, 'X25519 private key', 'invalid-key');
  return nobleX25519.scalarMultBase(privateKey);
}

function x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  requireBytes(privateKey, X25519_KEY_BYTES, 'X25519 private key', 'invalid-key');
  requireBytes(publicKey, X25519_KEY_BYTES, 'X25519 public key', 'invalid-key');
  let shared: Uint8Array;
  try {
    shared = nobleX25519.scalarMult(privateKey, publicKey);
  } catch (error) {
    // noble refuses an all-zero result itself (RFC 7748 §6.1); keep one error kind for it.
    throw new CryptoError('invalid-key', `X25519 rejected the public key: ${(error as Error).message}`);
  }
  return requireNonZeroSharedSecret(shared);
}

function checkAesKey(key: Uint8Array): void {
  requireBytes(key, AES256_KEY_BYTES, 'AES-256 key', 'invalid-key');
}

export const nobleBackend: CryptoBackend = {
  name: 'noble',
  providers: Object.freeze({
    random: '@noble/hashes randomBytes (crypto.getRandomValues)',
    x25519: '@noble/curves x25519',
    xeddsa: '@noble/curves ed25519.Point + @noble/hashes sha512',
    sha256: '@noble/hashes',
    sha512: '@noble/hashes',
    sha3_256: '@noble/hashes',
    shake256: '@noble/hashes',
    hmacSha256: '@noble/hashes',
    hkdfSha256: '@noble/hashes',
    aes256Cbc: '@noble/ciphers',
    aes256Gcm: '@noble/ciphers',
    kyber1024: '@noble/post-quantum ml_kem1024 + round-3 adapter',
  }),

  randomBytes,

  x25519GenerateKeyPair(): X25519KeyPair {
    const privateKey = clampX25519PrivateKey(nobleRandomBytes(X25519_KEY_BYTES));
    return { privateKey, publicKey: nobleX25519.scalarMultBase(privateKey) };
  },
  x25519PublicKey,
  x25519,

  xeddsaSign(privateKey, message, random) {
    return xeddsaSign(nobleSha512, privateKey, message, random ?? nobleRandomBytes(XEDDSA_RANDOM_BYTES));
  },
  xeddsaVerify(publicKey, message, signature) {
    return xeddsaVerify(nobleSha512, publicKey, message, signature);
  },

  sha256: (data) => nobleSha256(data),
  sha512: (data) => nobleSha512(data),
  sha3_256: (data) => nobleSha3_256(data),
  shake256(data, outputLength) {
    requireOutputLength(outputLength, 2 ** 20, 'SHAKE256 output length');
    return nobleShake256(data, { dkLen: outputLength });
  },
  hmacSha256(key, data) {
    requireUint8Array(key, 'HMAC key');
    return hmac(nobleSha256, key, data);
  },
  hkdfSha256(ikm, salt, info, length) {
    requireUint8Array(ikm, 'HKDF ikm');
    requireUint8Array(salt, 'HKDF salt');
    requireUint8Array(info, 'HKDF info');
    requireOutputLength(length, HKDF_SHA256_MAX_BYTES, 'HKDF output length');
    // RFC 5869 §2.2: an absent salt is HashLen zeros; HMAC pads an empty key to the same block.
    return hkdf(nobleSha256, ikm, salt.length === 0 ? EMPTY : salt, info, length);
  },

  aes256CbcEncrypt(key, iv, plaintext) {
    checkAesKey(key);
    requireBytes(iv, AES_BLOCK_BYTES, 'AES-CBC IV', 'invalid-length');
    requireUint8Array(plaintext, 'AES-CBC plaintext');
    return cbc(key, iv).encrypt(plaintext); // PKCS#7 padding (RFC 5652 §6.3) is noble's default
  },
  aes256CbcDecrypt(key, iv, ciphertext) {
    checkAesKey(key);
    requireBytes(iv, AES_BLOCK_BYTES, 'AES-CBC IV', 'invalid-length');
    requireCbcCiphertext(ciphertext);
    try {
      return cbc(key, iv).decrypt(ciphertext);
    } catch {
      throw new CryptoError('bad-padding', 'AES-CBC: invalid PKCS#7 padding');
    }
  },
  aes256GcmEncrypt(key, nonce, plaintext, aad) {
    checkAesKey(key);
    requireBytes(nonce, GCM_NONCE_BYTES, 'AES-GCM nonce', 'invalid-length');
    requireUint8Array(plaintext, 'AES-GCM plaintext');
    return gcm(key, nonce, aad).encrypt(plaintext);
  },
  aes256GcmDecrypt(key, nonce, sealed, aad) {
    checkAesKey(key);
    requireBytes(nonce, GCM_NONCE_BYTES, 'AES-GCM nonce', 'invalid-length');
    requireUint8Array(sealed, 'AES-GCM sealed');
    if (sealed.length < GCM_TAG_BYTES) throw new CryptoError('invalid-length', 'AES-GCM input shorter than its 16-byte tag');
    try {
      return gcm(key, nonce, aad).decrypt(sealed);
    } catch {
      throw new CryptoError('bad-tag', 'AES-GCM: authentication failed');
    }
  },

  kyber1024GenerateKeyPair: () => nobleMlKem1024.generateKeyPair(),
  kyber1024Encapsulate: (publicKey) => kyber1024Encapsulate(nobleMlKem1024, nobleKeccak, nobleRandomBytes, publicKey),
  kyber1024Decapsulate: (ciphertext, secretKey) => kyber1024Decapsulate(nobleMlKem1024, nobleKeccak, ciphertext, secretKey),
};

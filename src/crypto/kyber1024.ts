/**
 * Round-3 Kyber1024 (what libsignal's `kem/kyber1024.rs` speaks, type byte 0x08) built on a
 * FIPS 203 ML-KEM-1024 core, via the KDF adapter of signal-wire.md §4.
 *
 * Keys and ciphertexts are byte-identical between the two; only the derived secret differs:
 *   round 3:  m = SHA3-256(random 32)           (Kyber round-3 spec, Alg. "CCAKEM.Enc" step 2)
 *             K = SHAKE256(K̄ ‖ SHA3-256(ct), 32)  (Kyber round-3 spec, "CCAKEM.Enc"/"Dec" KDF)
 *   ML-KEM:   K = K̄
 * Only invalid ciphertexts behave differently (the implicit-rejection value differs); that ends
 * in a MAC failure at the Signal layer either way.
 */
import { CryptoError } from './errors.js';
import type { KyberEncapsulation, KyberKeyPair } from './backend.js';
import {
  KYBER1024_CIPHERTEXT_BYTES,
  KYBER1024_PUBLIC_KEY_BYTES,
  KYBER1024_SECRET_KEY_BYTES,
  requireBytes,
} from './input-checks.js';

/** The FIPS 203 ML-KEM-1024 operations the adapter needs, raw bytes in and out. */
export interface MlKem1024Core {
  generateKeyPair(): KyberKeyPair;
  /** FIPS 203 Alg. 17 ML-KEM.Encaps_internal(ek, m): deterministic given the 32-byte m. */
  encapsulate(publicKey: Uint8Array, m: Uint8Array): { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  /** FIPS 203 Alg. 18 ML-KEM.Decaps_internal(dk, c). */
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

export interface KeccakHashes {
  sha3_256(data: Uint8Array): Uint8Array;
  shake256(data: Uint8Array, outputLength: number): Uint8Array;
}

/** SHAKE256(K̄ ‖ SHA3-256(ct), 32): the round-3 KDF applied to the ML-KEM secret. */
function roundThreeKdf(hashes: KeccakHashes, preKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const input = new Uint8Array(64);
  input.set(preKey, 0);
  input.set(hashes.sha3_256(ciphertext), 32);
  const sharedSecret = hashes.shake256(input, 32);
  input.fill(0);
  return sharedSecret;
}

export function kyber1024Encapsulate(
  core: MlKem1024Core,
  hashes: KeccakHashes,
  randomBytes: (length: number) => Uint8Array,
  publicKey: Uint8Array,
): KyberEncapsulation {
  requireBytes(publicKey, KYBER1024_PUBLIC_KEY_BYTES, 'Kyber1024 public key', 'invalid-key');
  const seed = randomBytes(32);
  const m = hashes.sha3_256(seed); // round 3: m ← H(m)
  seed.fill(0);
  let inner;
  try {
    inner = core.encapsulate(publicKey, m);
  } catch (error) {
    // FIPS 203 §7.2 modulus check on ek: a malformed public key.
    throw new CryptoError('invalid-key', `Kyber1024 public key rejected: ${(error as Error).message}`);
  } finally {
    m.fill(0);
  }
  const sharedSecret = roundThreeKdf(hashes, inner.sharedSecret, inner.ciphertext);
  inner.sharedSecret.fill(0);
  return { ciphertext: inner.ciphertext, sharedSecret };
}

export function kyber1024Decapsulate(
  core: MlKem1024Core,
  hashes: KeccakHashes,
  ciphertext: Uint8Array,
  secretKey: Uint8Array,
): Uint8Array {
  requireBytes(ciphertext, KYBER1024_CIPHERTEXT_BYTES, 'Kyber1024 ciphertext', 'invalid-length');
  requireBytes(secretKey, KYBER1024_SECRET_KEY_BYTES, 'Kyber1024 secret key', 'invalid-key');
  let preKey;
  try {
    preKey = core.decapsulate(ciphertext, secretKey);
  } catch (error) {
    // FIPS 203 §7.3 hash check on dk: a malformed secret key.
    throw new CryptoError('invalid-key', `Kyber1024 secret key rejected: ${(error as Error).message}`);
  }
  const sharedSecret = roundThreeKdf(hashes, preKey, ciphertext);
  preKey.fill(0);
  return sharedSecret;
}

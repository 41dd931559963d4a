/**
 * Double Ratchet key derivations as libsignal instantiates them
 * (Double Ratchet §7 recommended algorithms; libsignal `ratchet/keys.rs`).
 */
import type { CryptoBackend } from '../crypto/backend.js';

const encoder = new TextEncoder();
const ROOT_INFO = encoder.encode('WhisperRatchet');
const MESSAGE_KEYS_INFO = encoder.encode('WhisperMessageKeys');
const MESSAGE_KEY_SEED = Uint8Array.of(0x01);
const CHAIN_KEY_SEED = Uint8Array.of(0x02);
const NO_SALT = new Uint8Array(0);

export interface RootStep {
  rootKey: Uint8Array;
  chainKey: Uint8Array;
}

/** KDF_RK (§7): HKDF-SHA256(salt = root key, ikm = DH output, "WhisperRatchet") → RK ‖ CK. */
export function deriveRootStep(backend: CryptoBackend, rootKey: Uint8Array, dhOutput: Uint8Array): RootStep {
  const okm = backend.hkdfSha256(dhOutput, rootKey, ROOT_INFO, 64);
  return { rootKey: okm.subarray(0, 32), chainKey: okm.subarray(32, 64) };
}

/** KDF_CK (§7): message seed = HMAC-SHA256(CK, 0x01). */
export function messageSeed(backend: CryptoBackend, chainKey: Uint8Array): Uint8Array {
  return backend.hmacSha256(chainKey, MESSAGE_KEY_SEED);
}

/** KDF_CK (§7): next chain key = HMAC-SHA256(CK, 0x02). */
export function nextChainKey(backend: CryptoBackend, chainKey: Uint8Array): Uint8Array {
  return backend.hmacSha256(chainKey, CHAIN_KEY_SEED);
}

export interface MessageKeys {
  cipherKey: Uint8Array; // AES-256
  macKey: Uint8Array; // HMAC-SHA256
  iv: Uint8Array; // CBC IV
}

/**
 * ENCRYPT key schedule (§7) of the triple ratchet: HKDF-SHA256(salt = SPQR key or none,
 * ikm = seed, "WhisperMessageKeys", 80) → AES key ‖ MAC key ‖ IV. The SPQR key is the salt,
 * not input key material (spqr.md §5); no key (SPQR's (epoch 1, index 0)) means no salt.
 */
export function deriveMessageKeys(backend: CryptoBackend, seed: Uint8Array, spqrKey: Uint8Array = NO_SALT): MessageKeys {
  const okm = backend.hkdfSha256(seed, spqrKey, MESSAGE_KEYS_INFO, 80);
  return { cipherKey: okm.subarray(0, 32), macKey: okm.subarray(32, 64), iv: okm.subarray(64, 80) };
}

/**
 * Boundary checks shared by the backends: every public operation checks its input once, here,
 * and the primitives behind it trust what they get.
 */
import { CryptoError, type CryptoErrorKind } from './errors.js';

export const X25519_KEY_BYTES = 32;
export const XEDDSA_SIGNATURE_BYTES = 64;
export const XEDDSA_RANDOM_BYTES = 64;
export const KYBER1024_PUBLIC_KEY_BYTES = 1568;
export const KYBER1024_SECRET_KEY_BYTES = 3168;
export const KYBER1024_CIPHERTEXT_BYTES = 1568;
export const AES256_KEY_BYTES = 32;
export const AES_BLOCK_BYTES = 16;
export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;
/** RFC 5869 §2.3: L <= 255 * HashLen. */
export const HKDF_SHA256_MAX_BYTES = 255 * 32;

export function requireBytes(value: Uint8Array, length: number, what: string, kind: CryptoErrorKind): void {
  if (!(value instanceof Uint8Array)) throw new CryptoError(kind, `${what} must be a Uint8Array`);
  if (value.length !== length) {
    throw new CryptoError(kind, `${what} must be ${length} bytes, got ${value.length}`);
  }
}

export function requireUint8Array(value: Uint8Array, what: string): void {
  if (!(value instanceof Uint8Array)) throw new CryptoError('invalid-length', `${what} must be a Uint8Array`);
}

export function requireOutputLength(length: number, max: number, what: string): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > max) {
    throw new CryptoError('invalid-length', `${what} must be an integer in 0..${max}, got ${length}`);
  }
}

/** AES-CBC ciphertext is a whole, non-zero number of blocks (PKCS#7 always adds one). */
export function requireCbcCiphertext(ciphertext: Uint8Array): void {
  requireUint8Array(ciphertext, 'AES-CBC ciphertext');
  if (ciphertext.length === 0 || ciphertext.length % AES_BLOCK_BYTES !== 0) {
    throw new CryptoError('invalid-length', `AES-CBC ciphertext must be a non-zero multiple of 16 bytes, got ${ciphertext.length}`);
  }
}

/** RFC 7748 §5: clamp a 32-byte scalar in place. */
export function clampX25519PrivateKey(privateKey: Uint8Array): Uint8Array {
  privateKey[0] &= 248;
  privateKey[31] &= 127;
  privateKey[31] |= 64;
  return privateKey;
}

/** RFC 7748 §6.1: an all-zero shared secret means a low-order peer point; reject it. */
export function requireNonZeroSharedSecret(sharedSecret: Uint8Array): Uint8Array {
  let acc = 0;
  for (let i = 0; i < sharedSecret.length; i++) acc |= sharedSecret[i]!;
  if (acc === 0) throw new CryptoError('invalid-key', 'X25519 result is all zero (low-order public key)');
  return sharedSecret;
}

/**
 * The SPQR authenticator and the braid's KDFs (spqr.md §5; Signal spec "The ML-KEM Braid
 * Protocol"): every label is ASCII without terminator, `BE64(e)` the epoch big-endian.
 *
 *   update(e, k):  O = HKDF(zero salt, root ‖ k, "Signal_PQCKA_V1_MLKEM768:Authenticator Update" ‖ BE64(e), 64)
 *                  root = O[0..32], macKey = O[32..64]        (starts from root = 0³², then update(1, authKey))
 *   header MAC:    HMAC-SHA256(macKey, "Signal_PQCKA_V1_MLKEM768:ekheader" ‖ BE64(e) ‖ hdr)
 *   ct MAC:        HMAC-SHA256(macKey, "Signal_PQCKA_V1_MLKEM768:ciphertext" ‖ BE64(e) ‖ ct1 ‖ ct2)
 *   epoch secret:  HKDF(zero salt, ML-KEM shared secret, "Signal_PQCKA_V1_MLKEM768:SCKA Key" ‖ BE64(e), 32)
 *
 * The header MAC uses the state before epoch e's update, the ciphertext MAC the state after
 * `update(e, epoch secret)` (key confirmation).
 */
import type { CryptoBackend } from '../crypto/backend.js';

const encoder = new TextEncoder();
const UPDATE_LABEL = encoder.encode('Signal_PQCKA_V1_MLKEM768:Authenticator Update');
const HEADER_LABEL = encoder.encode('Signal_PQCKA_V1_MLKEM768:ekheader');
const CIPHERTEXT_LABEL = encoder.encode('Signal_PQCKA_V1_MLKEM768:ciphertext');
const SCKA_KEY_LABEL = encoder.encode('Signal_PQCKA_V1_MLKEM768:SCKA Key');
/** Empty: RFC 5869 §2.2 reads it as HashLen zeros, and the backends skip hashing a zero key. */
const ZERO_SALT = new Uint8Array(0);
export const MAC_BYTES = 32;

/** `parts` concatenated, with BE64(epoch) after the first. */
function labelled(label: Uint8Array, epoch: number, ...parts: Uint8Array[]): Uint8Array {
  let length = label.length + 8;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  out.set(label, 0);
  const view = new DataView(out.buffer);
  view.setUint32(label.length, Math.floor(epoch / 2 ** 32));
  view.setUint32(label.length + 4, epoch >>> 0);
  let at = label.length + 8;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The authenticator's two keys. Immutable: `update` returns a new one. */
export interface Authenticator {
  readonly root: Uint8Array;
  readonly macKey: Uint8Array;
}

export function updateAuthenticator(backend: CryptoBackend, auth: Authenticator, epoch: number, key: Uint8Array): Authenticator {
  const ikm = new Uint8Array(auth.root.length + key.length);
  ikm.set(auth.root, 0);
  ikm.set(key, auth.root.length);
  const okm = backend.hkdfSha256(ikm, ZERO_SALT, labelled(UPDATE_LABEL, epoch), 64);
  return { root: okm.slice(0, 32), macKey: okm.slice(32, 64) };
}

/** root = 0³², then update(1, authKey) (the PQXDH output bytes 64..96). */
export function startAuthenticator(backend: CryptoBackend, authKey: Uint8Array): Authenticator {
  return updateAuthenticator(backend, { root: new Uint8Array(32), macKey: new Uint8Array(32) }, 1, authKey);
}

export function headerMac(backend: CryptoBackend, auth: Authenticator, epoch: number, header: Uint8Array): Uint8Array {
  return backend.hmacSha256(auth.macKey, labelled(HEADER_LABEL, epoch, header));
}

export function ciphertextMac(backend: CryptoBackend, auth: Authenticator, epoch: number, ct1: Uint8Array, ct2: Uint8Array): Uint8Array {
  return backend.hmacSha256(auth.macKey, labelled(CIPHERTEXT_LABEL, epoch, ct1, ct2));
}

export function epochSecret(backend: CryptoBackend, sharedSecret: Uint8Array, epoch: number): Uint8Array {
  return backend.hkdfSha256(sharedSecret, ZERO_SALT, labelled(SCKA_KEY_LABEL, epoch), 32);
}

/** Constant-time equality of two MACs. */
export function macsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

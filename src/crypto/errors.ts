/**
 * The closed set of ways a crypto primitive can refuse its input.
 *
 * - `invalid-key`: a key of the wrong length, or an X25519 exchange whose result is all zero
 *   (a low-order peer point, RFC 7748 §6.1).
 * - `bad-padding`: AES-CBC plaintext whose PKCS#7 padding is malformed (RFC 5652 §6.3).
 * - `bad-tag`: AES-GCM authentication failed (NIST SP 800-38D §7.2).
 * - `invalid-length`: an IV, nonce, ciphertext or requested output length that the primitive
 *   cannot take.
 * - `invalid-signature-input`: XEdDSA signing input that is malformed (random not 64 bytes).
 *
 * A signature that does not verify is not an error: `xeddsaVerify` returns `false`.
 */
import { KindedError } from '../kinded-error.js';
export type CryptoErrorKind =
  | 'invalid-key'
  | 'bad-padding'
  | 'bad-tag'
  | 'invalid-length'
  | 'invalid-signature-input';

export class CryptoError extends KindedError<CryptoErrorKind> {}

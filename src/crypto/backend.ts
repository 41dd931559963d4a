/**
 * The one small interface every crypto backend implements.
 *
 * All keys are raw bytes (no libsignal type prefixes): X25519 keys are 32 bytes
 * (Montgomery u-coordinate, RFC 7748), Kyber1024 public keys 1568 bytes, secret
 * keys 3168 bytes, ciphertexts 1568 bytes. Prefixing (0x05 / 0x08) is the job of
 * the Signal layer (`src/signal`), not of this one.
 *
 * Every deterministic operation gives identical bytes on every backend; the
 * cross-backend tests in `test/crypto` hold them to it.
 */
export type BackendName = 'noble' | 'node';

export interface X25519KeyPair {
  readonly privateKey: Uint8Array; // 32 bytes, clamped
  readonly publicKey: Uint8Array; // 32 bytes
}

export interface KyberKeyPair {
  readonly publicKey: Uint8Array; // 1568 bytes, raw (no 0x08)
  readonly secretKey: Uint8Array; // 3168 bytes, raw
}

export interface KyberEncapsulation {
  readonly ciphertext: Uint8Array; // 1568 bytes, raw (no 0x08)
  readonly sharedSecret: Uint8Array; // 32 bytes, round-3 Kyber KDF applied (signal-wire.md §4)
}

export interface CryptoBackend {
  readonly name: BackendName;
  /** Which implementation served each primitive, for the result JSON's environment. */
  readonly providers: Readonly<Record<string, string>>;

  randomBytes(length: number): Uint8Array;

  x25519GenerateKeyPair(): X25519KeyPair;
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;
  /** RFC 7748 X25519; throws CryptoError('invalid-key') on an all-zero result. */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;

  /** XEdDSA over Curve25519 (64-byte signature); `random` is 64 bytes, drawn when omitted. */
  xeddsaSign(privateKey: Uint8Array, message: Uint8Array, random?: Uint8Array): Uint8Array;
  /** XEdDSA verify with libsignal's sign-bit convention (sign bit in sig[63] >> 7). */
  xeddsaVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  sha256(data: Uint8Array): Uint8Array;
  sha512(data: Uint8Array): Uint8Array;
  sha3_256(data: Uint8Array): Uint8Array;
  shake256(data: Uint8Array, outputLength: number): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** RFC 5869; an empty salt means HashLen zero bytes. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;

  aes256CbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Throws CryptoError('bad-padding') when PKCS#7 padding is wrong. */
  aes256CbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array;
  /** Output is ciphertext ‖ 16-byte tag. */
  aes256GcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array;
  /** Throws CryptoError('bad-tag') when authentication fails. */
  aes256GcmDecrypt(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array;

  kyber1024GenerateKeyPair(): KyberKeyPair;
  kyber1024Encapsulate(publicKey: Uint8Array): KyberEncapsulation;
  kyber1024Decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

/**
 * Key encodings and the identity key pair.
 *
 * - EC public keys: `0x05 ‖ 32-byte X25519 u-coordinate` (X3DH §2.2 Encode(PK),
 *   libsignal `curve.rs`). libsignal tolerates trailing bytes after the 33rd;
 *   we accept exactly 33 bytes: every key libsignal emits is 33 bytes, and a
 *   fixed size keeps parsing and MAC input unambiguous.
 * - Kyber1024 public keys and ciphertexts: `0x08 ‖ 1568 bytes` (PQXDH §2.1
 *   EncodeKEM, signal-wire.md §2).
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { SignalError } from './errors.js';
import { ProtoWriter, readFields } from './protobuf.js';

export const EC_KEY_TYPE = 0x05;
export const KYBER_KEY_TYPE = 0x08;
export const EC_PUBLIC_KEY_LENGTH = 33;
export const EC_PRIVATE_KEY_LENGTH = 32;
export const KYBER_RAW_PUBLIC_KEY_LENGTH = 1568;
export const KYBER_PUBLIC_KEY_LENGTH = 1569;
export const KYBER_RAW_SECRET_KEY_LENGTH = 3168;
export const KYBER_CIPHERTEXT_LENGTH = 1569;
export const SIGNATURE_LENGTH = 64;

/** `0x05 ‖ raw` (33 bytes). */
export function serializeEcPublicKey(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(EC_PUBLIC_KEY_LENGTH);
  out[0] = EC_KEY_TYPE;
  out.set(raw, 1);
  return out;
}

/** Checks the 33-byte serialized form; returns a view of the raw 32 bytes. */
export function parseEcPublicKey(serialized: Uint8Array | undefined, what = 'EC public key'): Uint8Array {
  if (serialized === undefined || serialized.length !== EC_PUBLIC_KEY_LENGTH || serialized[0] !== EC_KEY_TYPE) {
    throw new SignalError('invalid-key', `${what}: expected 0x05 ‖ 32 bytes`);
  }
  return serialized.subarray(1);
}

/** `0x08 ‖ raw` (1569 bytes), for Kyber public keys and ciphertexts alike. */
export function serializeKyber(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(raw.length + 1);
  out[0] = KYBER_KEY_TYPE;
  out.set(raw, 1);
  return out;
}

/** Checks `0x08 ‖ 1568 bytes`; returns a view of the raw part. */
export function parseKyber(serialized: Uint8Array | undefined, what = 'Kyber1024 key'): Uint8Array {
  if (serialized === undefined || serialized.length !== KYBER_PUBLIC_KEY_LENGTH || serialized[0] !== KYBER_KEY_TYPE) {
    throw new SignalError('invalid-key', `${what}: expected 0x08 ‖ 1568 bytes`);
  }
  return serialized.subarray(1);
}

/** p = 2^255 − 19, little-endian, for the canonical check (u < p). */
const P_BYTES = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xed : i === 31 ? 0x7f : 0xff));

/**
 * k = 5L − 1, L = 2^252 + 27742317777372353535851937790883648493 the prime order of the base
 * point. It is a valid clamped X25519 scalar as it stands (RFC 7748 §5: a multiple of 8 since
 * L ≡ 5 (mod 8), bit 254 set, bit 255 clear), so X25519 applies it unchanged. Public, not a key.
 */
const SUBGROUP_SCALAR = Uint8Array.from(
  { length: 32 },
  (_, i) => Number((((5n << 252n) + 5n * 27742317777372353535851937790883648493n - 1n) >> BigInt(8 * i)) & 0xffn),
);

/**
 * The initiator's base key must be canonical (u < p, top bit clear) and torsion-free
 * (libsignal `pqxdh.rs`). Checked with one X25519 (RFC 7748 §5) by k = 5L − 1:
 *
 *   write P = P_L + T (prime-order part, torsion part). 8 | k kills T and k ≡ −1 (mod L), so
 *   [k]P = −P_L, whose u equals u(P_L). That equals u(P) exactly when P_L = ±P, i.e. when T = O
 *   (P_L = −P would make T = −2P_L, in both subgroups, so O). A small-order P gives the all-zero
 *   output, which the backend refuses (RFC 7748 §6.1). A u on the twist (order 4·L', L' prime)
 *   is refused too: [k]P' = ±P' would need ord(P') | 5L − 2 or 5L, which are odd and not
 *   multiples of L' (test/signal/codec.test.ts checks the arithmetic).
 *
 * This replaces a BigInt Montgomery ladder by L that cost about as much as five X25519s.
 */
export function isCanonicalBaseKey(backend: CryptoBackend, raw: Uint8Array): boolean {
  if (raw.length !== 32 || (raw[31]! & 0x80) !== 0) return false;
  // u < p, compared from the top byte (RFC 7748 §5 would otherwise reduce it).
  for (let i = 31; i >= 0; i--) {
    if (raw[i]! !== P_BYTES[i]!) {
      if (raw[i]! > P_BYTES[i]!) return false;
      break;
    }
    if (i === 0) return false; // u = p
  }
  let image: Uint8Array;
  try {
    image = backend.x25519(SUBGROUP_SCALAR, raw);
  } catch {
    return false; // all-zero output: a small-order point
  }
  return bytesEqual(image, raw);
}

/** A long-term identity: X25519 key pair whose public part is published 0x05-prefixed. */
export class IdentityKeyPair {
  /** 33 bytes, 0x05-prefixed. */
  readonly publicKey: Uint8Array;
  /** 32 bytes, clamped. */
  readonly privateKey: Uint8Array;

  constructor(publicKey: Uint8Array, privateKey: Uint8Array) {
    parseEcPublicKey(publicKey, 'identity public key');
    if (privateKey.length !== EC_PRIVATE_KEY_LENGTH) throw new SignalError('invalid-key', 'identity private key: expected 32 bytes');
    this.publicKey = publicKey;
    this.privateKey = privateKey;
  }

  static generate(backend: CryptoBackend): IdentityKeyPair {
    const pair = backend.x25519GenerateKeyPair();
    return new IdentityKeyPair(serializeEcPublicKey(pair.publicKey), pair.privateKey);
  }

  /** Raw 32-byte public key (view). */
  get rawPublicKey(): Uint8Array {
    return this.publicKey.subarray(1);
  }

  /** Same layout as libsignal's IdentityKeyPair: protobuf { 1: public(33), 2: private(32) }. */
  serialize(): Uint8Array {
    return new ProtoWriter(80).bytes(1, this.publicKey).bytes(2, this.privateKey).finish().slice();
  }

  static deserialize(bytes: Uint8Array): IdentityKeyPair {
    const fields = readFields(bytes, [undefined, 'bytes', 'bytes']);
    const pub = fields[1] as Uint8Array | undefined;
    const priv = fields[2] as Uint8Array | undefined;
    if (pub === undefined || priv === undefined) throw new SignalError('invalid-key', 'identity key pair: missing field');
    return new IdentityKeyPair(pub.slice(), priv.slice());
  }
}

/** A registration id as libsignal's KeyHelper makes them: 14 bits, never 0. */
export function generateRegistrationId(backend: CryptoBackend): number {
  const r = backend.randomBytes(2);
  return (((r[0]! << 8) | r[1]!) & 0x3fff) || 1;
}

/** Constant-time equality of two byte strings of equal length. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Who we are, as every session operation needs it. */
export interface LocalIdentity {
  identity: IdentityKeyPair;
  registrationId: number;
}

/** X25519 with the all-zero output mapped to SignalError('invalid-key'). */
export function agree(backend: CryptoBackend, privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    return backend.x25519(privateKey, publicKey);
  } catch (err) {
    throw new SignalError('invalid-key', `X25519: ${err instanceof Error ? err.message : String(err)}`);
  }
}

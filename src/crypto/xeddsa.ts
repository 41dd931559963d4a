/**
 * XEdDSA over Curve25519 ("XEd25519"), https://signal.org/docs/specifications/xeddsa/
 *
 * Signing follows the spec (§2.3 calculate_key_pair, §3.2 xeddsa_sign): the Edwards public key
 * A is forced to sign bit 0, so every signature we produce has sig[63] >> 7 === 0.
 * Verification follows libsignal (rust/core/src/curve/curve25519.rs, signal-wire.md §2): the
 * sign bit of A travels in the top bit of sig[63], which is cleared before s is read.
 * A spec-signature (bit 0) verifies under both rules, so both peers interoperate.
 *
 * Pure functions over Uint8Array; the SHA-512 implementation is a parameter so the `node`
 * backend can use OpenSSL's while the `noble` one uses @noble/hashes.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { nobleBaseMultiply, type EdwardsBaseMultiply } from './edwards-base.js';
import { CryptoError } from './errors.js';
import { PrivateKeyMemo } from './private-key-memo.js';
import {
  XEDDSA_RANDOM_BYTES,
  XEDDSA_SIGNATURE_BYTES,
  X25519_KEY_BYTES,
  requireBytes,
  requireUint8Array,
} from './input-checks.js';

export type Sha512 = (message: Uint8Array) => Uint8Array;

const Point = ed25519.Point;
const Fp = Point.Fp;
const Fn = Point.Fn;
/** §5: q, the prime order of the base point. */
const q = Fn.ORDER;
/** §5: p = 2^255 - 19. */
const p = Fp.ORDER;
/** §3.1: |q| = 253 bits, so s must be below 2^253. */
const S_LIMIT = 1n << 253n;

/** §2.5: hash_1 prefix = 2^256 - 1 - 1 encoded in 32 bytes: 0xFE followed by 31 × 0xFF. */
const HASH1_PREFIX = (() => {
  const prefix = new Uint8Array(32).fill(0xff);
  prefix[0] = 0xfe;
  return prefix;
})();

/** §2.3 convert_mont / calculate_key_pair: Montgomery private key k → (A with sign 0, a). */
function computeKeyPair(privateKey: Uint8Array, baseMultiply: EdwardsBaseMultiply): { publicEdwards: Uint8Array; a: bigint } {
  // The clamped scalar is < 2^255; B has order q, so kB = (k mod q)B.
  const k = Fn.create(bytesToNumberLE(privateKey));
  if (k === 0n) throw new CryptoError('invalid-key', 'XEdDSA private key is a multiple of the group order');
  const E = baseMultiply(k).slice();
  const signBit = E[31]! >> 7;
  E[31] = E[31]! & 0x7f; // A.s = 0
  const a = signBit === 1 ? Fn.neg(k) : k; // a = -k mod q when E.s == 1
  return { publicEdwards: E, a };
}

/** One scalar multiplication per signature is saved for keys that sign repeatedly (private-key-memo.ts). */
const edwardsKeyPairs = new PrivateKeyMemo<{ readonly publicEdwards: Uint8Array; readonly a: bigint }>();
const calculateKeyPair = (privateKey: Uint8Array, baseMultiply: EdwardsBaseMultiply) =>
  edwardsKeyPairs.get(privateKey, (key) => computeKeyPair(key, baseMultiply));

/**
 * §3.2 xeddsa_sign(k, M, Z). `random` (Z) is 64 bytes of fresh randomness.
 * Returns R ‖ s (64 bytes); the top bit of sig[63] is 0 (A's forced sign).
 */
export function xeddsaSign(
  sha512: Sha512,
  privateKey: Uint8Array,
  message: Uint8Array,
  random: Uint8Array,
  baseMultiply: EdwardsBaseMultiply = nobleBaseMultiply,
): Uint8Array {
  requireBytes(privateKey, X25519_KEY_BYTES, 'XEdDSA private key', 'invalid-key');
  requireUint8Array(message, 'XEdDSA message');
  requireBytes(random, XEDDSA_RANDOM_BYTES, 'XEdDSA random', 'invalid-signature-input');

  const { publicEdwards, a } = calculateKeyPair(privateKey, baseMultiply);
  const aBytes = numberToBytesLE(a, 32);

  // r = hash_1(a ‖ M ‖ Z) (mod q)   (§3.2; hash_1 from §2.5)
  const nonceInput = new Uint8Array(32 + 32 + message.length + 64);
  nonceInput.set(HASH1_PREFIX, 0);
  nonceInput.set(aBytes, 32);
  nonceInput.set(message, 64);
  nonceInput.set(random, 64 + message.length);
  const r = Fn.create(bytesToNumberLE(sha512(nonceInput)));
  nonceInput.fill(0);
  aBytes.fill(0);
  if (r === 0n) throw new CryptoError('invalid-signature-input', 'XEdDSA nonce reduced to zero');

  // R = rB
  const R = baseMultiply(r);

  // h = hash(R ‖ A ‖ M) (mod q)
  const h = challenge(sha512, R, publicEdwards, message);

  // s = r + ha (mod q)
  const s = Fn.add(r, Fn.mul(h, a));

  const signature = new Uint8Array(XEDDSA_SIGNATURE_BYTES);
  signature.set(R, 0);
  signature.set(numberToBytesLE(s, 32), 32);
  return signature;
}

/**
 * Ed25519 verification (RFC 8032 §5.1.7, cofactorless, R compared as bytes) of `signature`
 * = R ‖ s with s < q, under the Edwards public key encoding `publicEdwards`. XEdDSA
 * verification reduces to it once A and s are decoded; a backend may supply a faster one.
 */
export type Ed25519Verify = (publicEdwards: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

/**
 * §3.3 small-order Montgomery u-coordinates below p: 0 and 1 (orders 2 and 4), the two
 * order-8 points, and p − 1 (which has no Edwards image). A public key on this list can make
 * signatures that verify for any message, so it never verifies.
 */
const SMALL_ORDER_U = new Set<bigint>([
  0n,
  1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  p - 1n,
]);

/**
 * Verification with libsignal's sign-bit convention (signal-wire.md §2).
 * Returns false, never throws, for any signature bytes or public-key point that do not verify.
 * `ed25519Verify`, when given, serves signatures with s < q (every honest one); the rare
 * s in [q, 2^253) that libsignal also accepts always take the generic path below.
 */
export function xeddsaVerify(
  sha512: Sha512,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  ed25519Verify?: Ed25519Verify,
): boolean {
  requireBytes(publicKey, X25519_KEY_BYTES, 'XEdDSA public key', 'invalid-key');
  requireUint8Array(message, 'XEdDSA message');
  if (!(signature instanceof Uint8Array) || signature.length !== XEDDSA_SIGNATURE_BYTES) return false;

  // §3.3: if u >= p → false; small-order keys never verify.
  const u = bytesToNumberLE(publicKey);
  if (u >= p || SMALL_ORDER_U.has(u)) return false;

  // libsignal: the Edwards sign bit is in sig[63] >> 7; clear it, then require s < 2^253 (§3.3).
  const signBit = signature[63]! >> 7;
  const cleared = signature.slice();
  cleared[63] = cleared[63]! & 0x7f;
  const s = bytesToNumberLE(cleared.subarray(32, 64));
  if (s >= S_LIMIT) return false;

  // §2.3 convert_mont, with the sign taken from the signature: y = (u - 1) / (u + 1) mod p.
  const A = edwardsY(publicKey, u);
  A[31] = A[31]! | (signBit << 7);

  if (ed25519Verify !== undefined && s < q) {
    try {
      return ed25519Verify(A, message, cleared);
    } catch {
      return false;
    }
  }

  let publicPoint;
  try {
    publicPoint = Point.fromBytes(A);
  } catch {
    return false; // y has no x on the curve
  }

  const R = cleared.subarray(0, 32);
  const h = challenge(sha512, R, A, message);

  // Rcheck = sB - hA; compared as encodings, so a non-canonical R never matches (§3.3).
  const sB = Point.BASE.multiplyUnsafe(Fn.create(s));
  const hA = publicPoint.multiplyUnsafe(h);
  const check = sB.subtract(hA).toBytes();
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= check[i]! ^ R[i]!;
  return diff === 0;
}

/**
 * The last conversion, kept because a bundle's two signatures (signed prekey, Kyber prekey) are
 * by one identity key, and a client's bundles mostly come from few identities. It holds public
 * data only; the field inversion it saves is a sizeable part of a verification in BigInt.
 */
let lastConversion: { readonly u: Uint8Array; readonly y: Uint8Array } | undefined;

/** y = (u − 1) / (u + 1) mod p, encoded with sign bit 0 (§2.3 convert_mont); a fresh array. */
function edwardsY(publicKey: Uint8Array, u: bigint): Uint8Array {
  const last = lastConversion;
  if (last !== undefined && equalBytes(last.u, publicKey)) return last.y.slice();
  const y = numberToBytesLE(Fp.mul(Fp.sub(u, 1n), Fp.inv(Fp.add(u, 1n))), 32);
  lastConversion = { u: publicKey.slice(), y: y.slice() };
  return y;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** h = hash(R ‖ A ‖ M) (mod q), §3.2 / §3.3. */
function challenge(sha512: Sha512, R: Uint8Array, A: Uint8Array, message: Uint8Array): bigint {
  const input = new Uint8Array(64 + message.length);
  input.set(R, 0);
  input.set(A, 32);
  input.set(message, 64);
  return Fn.create(bytesToNumberLE(sha512(input)));
}

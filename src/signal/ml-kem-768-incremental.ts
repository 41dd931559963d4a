/**
 * ML-KEM-768 (FIPS 203) split the way SPQR's braid uses it (spqr.md §7): the ct sender runs
 * encapsulation in two halves, because the encapsulation key arrives in two parts.
 *
 *   header (64 B)  = ρ ‖ H(ek), H(ek) = SHA3-256(t̂ ‖ ρ)   — enough for ct1 and the shared secret
 *   Ek payload     = t̂ (1152 B)                            — needed only for ct2
 *
 *   encapsulateFirst(header, m)   → ct1 = Compress₁₀(u), K, state (r̂, e2, m)
 *   encapsulateSecond(state, t̂)   → ct2 = Compress₄(v)
 *
 * Together they are exactly FIPS 203 Alg. 17 ML-KEM.Encaps_internal(ek = t̂ ‖ ρ, m): ct1 ‖ ct2 and
 * K are byte-identical to a one-shot encapsulation. The K-PKE pieces the split needs (Alg. 4–12,
 * 14) are here, since no library exposes them; key generation (Alg. 16), decapsulation (Alg. 18,
 * implicit rejection included) and the SHA-3 / SHAKE calls come from ../crypto/ml-kem-768.ts
 * (node:crypto or liboqs where present and agreeing with @noble/post-quantum, noble otherwise).
 *
 * The encapsulation state is this module's own layout (spqr.md §14 trap 18: not libcrux's):
 *   ByteEncode₁₂(r̂₀ ‖ r̂₁ ‖ r̂₂) (1152 B) ‖ e2 + 2 as 4-bit nibbles (128 B) ‖ m (32 B).
 * It is secret: whoever holds it knows the shared secret.
 */
import { randomBytes } from 'node:crypto';
import { mlKem768Decapsulate, mlKem768Keccak, mlKem768Keygen } from '../crypto/ml-kem-768.js';
import { SignalError } from './errors.js';

export const HEADER_BYTES = 64;
export const ENCAPSULATION_KEY_VECTOR_BYTES = 1152;
export const DECAPSULATION_KEY_BYTES = 2400;
export const CT1_BYTES = 960;
export const CT2_BYTES = 128;
export const SHARED_SECRET_BYTES = 32;
export const KEY_GENERATION_SEED_BYTES = 64;
export const MESSAGE_BYTES = 32;
export const ENCAPSULATION_STATE_BYTES = 1152 + 128 + 32;

const N = 256;
const Q = 3329;
const K = 3; // ML-KEM-768: k = 3, η1 = η2 = 2, du = 10, dv = 4 (FIPS 203 Table 2)
const DU = 10;
const DV = 4;
const POLY_12_BYTES = 384;
/** dk = dk_pke (1152) ‖ ek (1184) ‖ H(ek) (32) ‖ z (32): where H(ek) sits (FIPS 203 Alg. 16). */
const DK_HASH_OFFSET = 1152 + 1184;

type Poly = Uint16Array; // 256 coefficients in [0, q)
const keccak = mlKem768Keccak.run;

// ζ^BitRev₇(i) and ζ^(2·BitRev₇(i)+1) mod q, ζ = 17 (FIPS 203 Appendix A).
const bitRev7 = (i: number): number => {
  let r = 0;
  for (let b = 0; b < 7; b++) r |= ((i >> b) & 1) << (6 - b);
  return r;
};
const powZeta = (e: number): number => {
  let r = 1;
  for (let i = 0; i < e; i++) r = (r * 17) % Q;
  return r;
};
const ZETAS = Uint16Array.from({ length: 128 }, (_, i) => powZeta(bitRev7(i)));
const GAMMAS = Uint16Array.from({ length: 128 }, (_, i) => powZeta(2 * bitRev7(i) + 1));

/** FIPS 203 Alg. 9: NTT, in place. */
function ntt(f: Poly): Poly {
  let i = 1;
  for (let len = 128; len >= 2; len >>= 1) {
    for (let start = 0; start < N; start += 2 * len) {
      const zeta = ZETAS[i++];
      for (let j = start; j < start + len; j++) {
        const t = (zeta * f[j + len]) % Q;
        f[j + len] = (f[j] - t + Q) % Q;
        f[j] = (f[j] + t) % Q;
      }
    }
  }
  return f;
}

/** FIPS 203 Alg. 10: NTT⁻¹, in place. */
function nttInverse(f: Poly): Poly {
  let i = 127;
  for (let len = 2; len <= 128; len <<= 1) {
    for (let start = 0; start < N; start += 2 * len) {
      const zeta = ZETAS[i--];
      for (let j = start; j < start + len; j++) {
        const t = f[j];
        f[j] = (t + f[j + len]) % Q;
        f[j + len] = (zeta * (f[j + len] - t + Q)) % Q;
      }
    }
  }
  for (let j = 0; j < N; j++) f[j] = (f[j] * 3303) % Q; // 3303 = 128⁻¹ mod q
  return f;
}

/** acc += f ∘ g: FIPS 203 Alg. 11 MultiplyNTTs with Alg. 12 BaseCaseMultiply inlined. */
function multiplyNttsInto(acc: Poly, f: Poly, g: Poly): void {
  for (let i = 0; i < 128; i++) {
    const a0 = f[2 * i], a1 = f[2 * i + 1], b0 = g[2 * i], b1 = g[2 * i + 1];
    acc[2 * i] = (acc[2 * i] + a0 * b0 + ((a1 * b1) % Q) * GAMMAS[i]) % Q;
    acc[2 * i + 1] = (acc[2 * i + 1] + a0 * b1 + a1 * b0) % Q;
  }
}

/** FIPS 203 Alg. 5 ByteEncode_d (d < 12 after Compress_d, or 12), 32·d bytes into out at offset. */
function byteEncode(d: number, f: ArrayLike<number>, out: Uint8Array, offset: number): void {
  let acc = 0, bits = 0, o = offset;
  for (let i = 0; i < N; i++) {
    acc |= f[i] << bits;
    for (bits += d; bits >= 8; bits -= 8, acc >>>= 8) out[o++] = acc & 0xff;
  }
}

/** FIPS 203 Alg. 6 ByteDecode_d, without the mod-q reduction for d = 12 (callers check < q). */
function byteDecode(d: number, bytes: Uint8Array, offset: number): Poly {
  const f = new Uint16Array(N), mask = (1 << d) - 1;
  let acc = 0, bits = 0, o = offset;
  for (let i = 0; i < N; i++) {
    for (; bits < d; bits += 8) acc |= bytes[o++] << bits;
    f[i] = acc & mask;
    acc >>>= d;
    bits -= d;
  }
  return f;
}

/** FIPS 203 (4.7) Compress_d, in place: round(2^d/q · x) mod 2^d. */
function compress(d: number, f: Poly): Poly {
  const mask = (1 << d) - 1;
  for (let i = 0; i < N; i++) f[i] = Math.floor(((f[i] << d) + 1664) / Q) & mask;
  return f;
}

/**
 * Â[row, column] = FIPS 203 Alg. 7 SampleNTT(ρ ‖ column ‖ row): rejection sampling from SHAKE128.
 * Three 168-byte blocks almost always suffice; otherwise the stream is drawn again, one block longer.
 */
function matrixEntry(rho: Uint8Array, row: number, column: number): Poly {
  const seed = new Uint8Array(34);
  seed.set(rho);
  seed[32] = column;
  seed[33] = row;
  const a = new Uint16Array(N);
  for (let length = 3 * 168; ; length += 168) {
    const stream = keccak.shake128(seed, length);
    let filled = 0;
    for (let p = 0; p + 3 <= length && filled < N; p += 3) {
      const d1 = stream[p] | ((stream[p + 1] & 0x0f) << 8);
      const d2 = (stream[p + 1] >> 4) | (stream[p + 2] << 4);
      if (d1 < Q) a[filled++] = d1;
      if (d2 < Q && filled < N) a[filled++] = d2;
    }
    if (filled === N) return a;
  }
}

/** FIPS 203 Alg. 8 SamplePolyCBD₂ over PRF₂(r, b) = SHAKE256(r ‖ b, 128) (4.3). */
function sampleCbd2(r: Uint8Array, b: number): Poly {
  const input = new Uint8Array(33);
  input.set(r);
  input[32] = b;
  const bytes = keccak.shake256(input, 128);
  const f = new Uint16Array(N);
  for (let i = 0; i < N; i++) {
    const nibble = (bytes[i >> 1] >> ((i & 1) * 4)) & 0x0f;
    const x = (nibble & 1) + ((nibble >> 1) & 1);
    const y = ((nibble >> 2) & 1) + ((nibble >> 3) & 1);
    f[i] = (x - y + Q) % Q;
  }
  bytes.fill(0);
  input.fill(0);
  return f;
}

function addInto(acc: Poly, f: Poly): Poly {
  for (let i = 0; i < N; i++) acc[i] = (acc[i] + f[i]) % Q;
  return acc;
}

function requireLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new SignalError('spqr-erroneous-data', `${what}: expected ${length} bytes`);
  }
}

/** FIPS 203 §7.2 modulus check: every 12-bit word of ByteEncode₁₂(t̂) is below q. */
function passesModulusCheck(vector: Uint8Array): boolean {
  for (let o = 0; o < vector.length; o += 3) {
    if ((vector[o] | ((vector[o + 1] & 0x0f) << 8)) >= Q) return false;
    if (((vector[o + 1] >> 4) | (vector[o + 2] << 4)) >= Q) return false;
  }
  return true;
}

export interface BraidKeyPair {
  header: Uint8Array;
  encapsulationKeyVector: Uint8Array;
  decapsulationKey: Uint8Array;
}

/**
 * FIPS 203 Alg. 16 ML-KEM.KeyGen_internal(d, z) with Alg. 13 K-PKE.KeyGen, over this module's
 * arithmetic and hashes: (ρ, σ) = G(d ‖ k); Â[i][j] = SampleNTT(ρ ‖ j ‖ i); s, e from PRF₂(σ, 0..5);
 * t̂ = Â ∘ NTT(s) + NTT(e); ek = ByteEncode₁₂(t̂) ‖ ρ; dk = ByteEncode₁₂(ŝ) ‖ ek ‖ H(ek) ‖ z.
 * With OpenSSL's SHAKE (mlKem768.ts) about twice as fast as @noble/post-quantum's keygen, which
 * spends most of its time in JavaScript Keccak; same bytes (test/signal/spqr-ml-kem.test.ts).
 */
export function keyGenerationInternal(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  requireLength(seed, KEY_GENERATION_SEED_BYTES, 'ML-KEM-768 key generation seed');
  const gInput = new Uint8Array(33);
  gInput.set(seed.subarray(0, 32));
  gInput[32] = K;
  const rhoSigma = keccak.sha3_512(gInput);
  const rho = rhoSigma.slice(0, 32);
  const sigma = rhoSigma.subarray(32, 64);
  const sHat = [0, 1, 2].map((i) => ntt(sampleCbd2(sigma, i)));
  const secretKey = new Uint8Array(DECAPSULATION_KEY_BYTES);
  const publicKey = secretKey.subarray(K * POLY_12_BYTES, K * POLY_12_BYTES + ENCAPSULATION_KEY_VECTOR_BYTES + 32);
  for (let i = 0; i < K; i++) {
    const t = ntt(sampleCbd2(sigma, K + i)); // ê[i]
    for (let j = 0; j < K; j++) multiplyNttsInto(t, matrixEntry(rho, i, j), sHat[j]);
    byteEncode(12, t, publicKey, i * POLY_12_BYTES);
    byteEncode(12, sHat[i], secretKey, i * POLY_12_BYTES);
  }
  publicKey.set(rho, ENCAPSULATION_KEY_VECTOR_BYTES);
  secretKey.set(keccak.sha3_256(publicKey), DK_HASH_OFFSET);
  secretKey.set(seed.subarray(32, 64), DK_HASH_OFFSET + 32);
  for (const p of sHat) p.fill(0);
  rhoSigma.fill(0);
  gInput.fill(0);
  return { publicKey: publicKey.slice(), secretKey };
}

/** node:crypto's native keygen where the runtime has it, else keyGenerationInternal (chosen on first use). */
let keygen: ((seed: Uint8Array) => { publicKey: Uint8Array; secretKey: Uint8Array }) | undefined;
function braidKeygen(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  if (keygen === undefined) {
    const provided = mlKem768Keygen();
    keygen = provided.provider === 'noble' && mlKem768Keccak.provider !== 'noble' ? keyGenerationInternal : provided.run;
  }
  return keygen(seed);
}

/** FIPS 203 Alg. 16 ML-KEM.KeyGen_internal(d, z); seed: 64 bytes (d ‖ z) for deterministic tests. */
export function generateBraidKeyPair(seed?: Uint8Array): BraidKeyPair {
  if (seed !== undefined) requireLength(seed, KEY_GENERATION_SEED_BYTES, 'ML-KEM-768 key generation seed');
  const { publicKey, secretKey } = braidKeygen(seed ?? randomBytes(KEY_GENERATION_SEED_BYTES));
  const header = new Uint8Array(HEADER_BYTES);
  header.set(publicKey.subarray(ENCAPSULATION_KEY_VECTOR_BYTES), 0); // ρ
  header.set(secretKey.subarray(DK_HASH_OFFSET, DK_HASH_OFFSET + 32), 32); // H(ek), as stored in dk
  return {
    header,
    encapsulationKeyVector: publicKey.slice(0, ENCAPSULATION_KEY_VECTOR_BYTES),
    decapsulationKey: secretKey,
  };
}

export interface FirstEncapsulation {
  ct1: Uint8Array;
  sharedSecret: Uint8Array;
  /** opaque, secret, serialisable: own layout of (r̂, e2, m) */
  encapsulationState: Uint8Array;
}

/**
 * FIPS 203 Alg. 17 ML-KEM.Encaps_internal up to ct1 (Alg. 14 K-PKE.Encrypt steps 1–19, 22):
 * (K, r) = G(m ‖ H(ek)); ŷ = NTT(y); u = NTT⁻¹(Âᵀ ∘ ŷ) + e1; ct1 = ByteEncode₁₀(Compress₁₀(u)).
 * message: 32 random bytes m (random when omitted).
 */
export function encapsulateFirst(header: Uint8Array, message?: Uint8Array): FirstEncapsulation {
  requireLength(header, HEADER_BYTES, 'SPQR ML-KEM header');
  if (message !== undefined) requireLength(message, MESSAGE_BYTES, 'ML-KEM message m');
  const m = message === undefined ? randomBytes(MESSAGE_BYTES) : Uint8Array.from(message);
  const rho = header.subarray(0, 32);
  const gInput = new Uint8Array(64);
  gInput.set(m);
  gInput.set(header.subarray(32, 64), 32);
  const kr = keccak.sha3_512(gInput);
  const sharedSecret = kr.slice(0, 32);
  const r = kr.subarray(32, 64);

  const rHat = [0, 1, 2].map((i) => ntt(sampleCbd2(r, i))); // ŷ, PRF indices 0..k−1
  const ct1 = new Uint8Array(CT1_BYTES);
  for (let i = 0; i < K; i++) {
    const acc = new Uint16Array(N);
    for (let j = 0; j < K; j++) multiplyNttsInto(acc, matrixEntry(rho, j, i), rHat[j]); // (Âᵀ ∘ ŷ)[i]
    const u = addInto(nttInverse(acc), sampleCbd2(r, K + i)); // + e1[i]
    byteEncode(DU, compress(DU, u), ct1, i * 32 * DU);
  }
  const e2 = sampleCbd2(r, 2 * K);

  const encapsulationState = new Uint8Array(ENCAPSULATION_STATE_BYTES);
  rHat.forEach((p, i) => byteEncode(12, p, encapsulationState, i * POLY_12_BYTES));
  const e2At = K * POLY_12_BYTES;
  for (let i = 0; i < N; i++) {
    const shifted = (e2[i] + 2) % Q; // e2 ∈ [−2, 2] → [0, 4]
    encapsulationState[e2At + (i >> 1)] |= shifted << ((i & 1) * 4);
  }
  encapsulationState.set(m, e2At + N / 2);

  for (const p of rHat) p.fill(0);
  e2.fill(0);
  kr.fill(0);
  m.fill(0);
  gInput.fill(0);
  return { ct1, sharedSecret, encapsulationState };
}

/** true when SHA3-256(t̂ ‖ ρ) equals header[32..64] and t̂ passes the FIPS 203 §7.2 modulus check. */
export function encapsulationKeyMatchesHeader(header: Uint8Array, encapsulationKeyVector: Uint8Array): boolean {
  if (header.length !== HEADER_BYTES || encapsulationKeyVector.length !== ENCAPSULATION_KEY_VECTOR_BYTES) return false;
  if (!passesModulusCheck(encapsulationKeyVector)) return false;
  const ek = new Uint8Array(ENCAPSULATION_KEY_VECTOR_BYTES + 32);
  ek.set(encapsulationKeyVector);
  ek.set(header.subarray(0, 32), ENCAPSULATION_KEY_VECTOR_BYTES);
  const hash = keccak.sha3_256(ek);
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= hash[i] ^ header[32 + i];
  return diff === 0;
}

/**
 * The rest of FIPS 203 Alg. 14 K-PKE.Encrypt (steps 2, 20, 21, 23):
 * v = NTT⁻¹(t̂ᵀ ∘ r̂) + e2 + Decompress₁(m); ct2 = ByteEncode₄(Compress₄(v)).
 * Throws SignalError('spqr-erroneous-data') when the key does not match the header or the state is malformed.
 */
export function encapsulateSecond(
  encapsulationState: Uint8Array,
  header: Uint8Array,
  encapsulationKeyVector: Uint8Array,
): Uint8Array {
  requireLength(encapsulationState, ENCAPSULATION_STATE_BYTES, 'ML-KEM encapsulation state');
  requireLength(header, HEADER_BYTES, 'SPQR ML-KEM header');
  requireLength(encapsulationKeyVector, ENCAPSULATION_KEY_VECTOR_BYTES, 'ML-KEM encapsulation key vector');
  if (!passesModulusCheck(encapsulationState.subarray(0, K * POLY_12_BYTES))) {
    throw new SignalError('spqr-erroneous-data', 'ML-KEM encapsulation state: r̂ out of range');
  }
  if (!encapsulationKeyMatchesHeader(header, encapsulationKeyVector)) {
    throw new SignalError('spqr-erroneous-data', 'ML-KEM encapsulation key does not match the header');
  }
  const e2At = K * POLY_12_BYTES;
  const v = new Uint16Array(N);
  for (let i = 0; i < K; i++) {
    const rHat = byteDecode(12, encapsulationState, i * POLY_12_BYTES);
    multiplyNttsInto(v, byteDecode(12, encapsulationKeyVector, i * POLY_12_BYTES), rHat);
    rHat.fill(0);
  }
  nttInverse(v);
  const m = encapsulationState.subarray(e2At + N / 2);
  for (let i = 0; i < N; i++) {
    const shifted = (encapsulationState[e2At + (i >> 1)] >> ((i & 1) * 4)) & 0x0f;
    if (shifted > 4) {
      v.fill(0);
      throw new SignalError('spqr-erroneous-data', 'ML-KEM encapsulation state: e2 out of range');
    }
    const mu = (m[i >> 3] >> (i & 7)) & 1 ? 1665 : 0; // Decompress₁(ByteDecode₁(m))
    v[i] = (v[i] + shifted - 2 + Q + mu) % Q;
  }
  const ct2 = new Uint8Array(CT2_BYTES);
  byteEncode(DV, compress(DV, v), ct2, 0);
  v.fill(0);
  return ct2;
}

/** FIPS 203 Alg. 18 ML-KEM.Decaps_internal of ct1 ‖ ct2 (implicit rejection included). */
export function decapsulate(decapsulationKey: Uint8Array, ct1: Uint8Array, ct2: Uint8Array): Uint8Array {
  requireLength(decapsulationKey, DECAPSULATION_KEY_BYTES, 'ML-KEM-768 decapsulation key');
  requireLength(ct1, CT1_BYTES, 'ML-KEM-768 ct1');
  requireLength(ct2, CT2_BYTES, 'ML-KEM-768 ct2');
  const ciphertext = new Uint8Array(CT1_BYTES + CT2_BYTES);
  ciphertext.set(ct1);
  ciphertext.set(ct2, CT1_BYTES);
  try {
    return mlKem768Decapsulate().run(ciphertext, decapsulationKey);
  } catch (error) {
    // FIPS 203 §7.3 input checks on dk (the embedded H(ek) does not match the embedded ek).
    throw new SignalError('spqr-erroneous-data', `ML-KEM-768 decapsulation key rejected: ${(error as Error).message}`);
  }
}

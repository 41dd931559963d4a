/**
 * What SPQR's incremental ML-KEM-768 (../signal/ml-kem-768-incremental.ts) takes from libraries,
 * each from the fastest provider present that gives @noble/post-quantum's bytes:
 *
 * - SHA3-256/512 and SHAKE128/256 for the K-PKE pieces: node:crypto (OpenSSL), else noble.
 * - Key generation from a seed (FIPS 203 Alg. 16): node:crypto where it has ML-KEM (Node ≥ 24.7,
 *   OpenSSL ≥ 3.5; keys go in and out as PKCS#8, RFC 9935), else noble. liboqs has no seeded keygen.
 * - Decapsulation (Alg. 18, implicit rejection included): @oqs/liboqs-js (WebAssembly), else
 *   node:crypto ML-KEM, else noble.
 *
 * Against noble on the same runtime (2-core VM, medians per call under load): decapsulation
 * with liboqs ~0.5 ms instead of 2.5–5 ms; key generation with node:crypto on Node 24.21 ~0.3–0.45
 * ms instead of 1.1–2.2 ms; SHAKE128 of 504 bytes ~20 µs instead of ~100 µs.
 *
 * The liboqs module loads with this one (top-level await, ~25–35 ms). Each provider other than
 * noble is used only if it agrees with noble on fixed inputs (for decapsulation a valid and a
 * tampered ciphertext): the hashes are checked at load, key generation and decapsulation on
 * first use (their check runs noble's, a few ms).
 */
import * as nodeCrypto from 'node:crypto';
import { sha3_256, sha3_512, shake128, shake256 } from '@noble/hashes/sha3.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';

export interface MlKem768Keccak {
  sha3_256(data: Uint8Array): Uint8Array;
  sha3_512(data: Uint8Array): Uint8Array;
  shake128(data: Uint8Array, outputLength: number): Uint8Array;
  shake256(data: Uint8Array, outputLength: number): Uint8Array;
}
/** FIPS 203 Alg. 16 ML-KEM.KeyGen_internal(d, z), seed = d ‖ z (64 B): ek 1184 B, dk 2400 B. */
export type MlKem768Keygen = (seed: Uint8Array) => { publicKey: Uint8Array; secretKey: Uint8Array };
/** FIPS 203 Alg. 18 ML-KEM.Decaps_internal(dk, c); throws on a dk failing the §7.3 hash check. */
export type MlKem768Decapsulate = (ciphertext: Uint8Array, secretKey: Uint8Array) => Uint8Array;

export interface Provided<T> {
  readonly provider: 'node:crypto' | 'liboqs-wasm' | 'noble';
  readonly run: T;
}

const nobleKeccak: MlKem768Keccak = {
  sha3_256: (data) => sha3_256(data),
  sha3_512: (data) => sha3_512(data),
  shake128: (data, dkLen) => shake128(data, { dkLen }),
  shake256: (data, dkLen) => shake256(data, { dkLen }),
};
const asBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);
const nodeKeccak: MlKem768Keccak = {
  sha3_256: (data) => asBytes(nodeCrypto.createHash('sha3-256').update(data).digest()),
  sha3_512: (data) => asBytes(nodeCrypto.createHash('sha3-512').update(data).digest()),
  shake128: (data, outputLength) => asBytes(nodeCrypto.createHash('shake128', { outputLength }).update(data).digest()),
  shake256: (data, outputLength) => asBytes(nodeCrypto.createHash('shake256', { outputLength }).update(data).digest()),
};

// ---- node:crypto ML-KEM-768 (Node ≥ 24.7) ----

type NativeDecapsulate = (key: nodeCrypto.KeyObject, ciphertext: Uint8Array) => Buffer;
const nativeDecapsulate = (nodeCrypto as unknown as { decapsulate?: NativeDecapsulate }).decapsulate;
const SECRET_KEY_BYTES = 2400;
const PUBLIC_KEY_IN_SECRET_KEY = 1152; // dk = dk_pke (1152) ‖ ek (1184) ‖ H(ek) (32) ‖ z (32)
const PUBLIC_KEY_BYTES = 1184;
/** PKCS#8 PrivateKeyInfo, id-alg-ml-kem-768 (2.16.840.1.101.3.4.4.2), the `seed [0]` choice (RFC 9935 §6). */
const PKCS8_SEED_PREFIX = Buffer.from('3054020100300b060960864801650304040204428040', 'hex');
/** The same with the `expandedKey` choice (the 2400-byte FIPS dk). */
const PKCS8_EXPANDED_PREFIX = Buffer.from('30820978020100300b06096086480165030404020482096404820960', 'hex');

function importPrivateKey(prefix: Buffer, raw: Uint8Array): nodeCrypto.KeyObject {
  const der = Buffer.concat([prefix, raw]);
  try {
    return nodeCrypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/** OpenSSL exports a seed-imported key as both: SEQUENCE { seed, expandedKey }; the dk ends it. */
const nativeKeygen: MlKem768Keygen = (seed) => {
  const exported = importPrivateKey(PKCS8_SEED_PREFIX, seed).export({ format: 'der', type: 'pkcs8' });
  const secretKey = new Uint8Array(exported.subarray(exported.length - SECRET_KEY_BYTES));
  exported.fill(0);
  return { publicKey: secretKey.slice(PUBLIC_KEY_IN_SECRET_KEY, PUBLIC_KEY_IN_SECRET_KEY + PUBLIC_KEY_BYTES), secretKey };
};

// ---- liboqs (WebAssembly) ML-KEM-768 ----

interface LiboqsMlKem768 {
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}
async function loadLiboqs(): Promise<LiboqsMlKem768 | undefined> {
  try {
    const liboqs = (await import('@oqs/liboqs-js/kem')) as unknown as { createMLKEM768(): Promise<LiboqsMlKem768> };
    return await liboqs.createMLKEM768();
  } catch {
    return undefined;
  }
}
const liboqs = await loadLiboqs();

// ---- the choice ----

const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const fixedSeed = Uint8Array.from({ length: 64 }, (_, i) => i);

function keccakAgrees(candidate: MlKem768Keccak): boolean {
  const input = fixedSeed.subarray(0, 34);
  return (['sha3_256', 'sha3_512'] as const).every((f) => equal(candidate[f](input), nobleKeccak[f](input)))
    && (['shake128', 'shake256'] as const).every((f) => equal(candidate[f](input, 672), nobleKeccak[f](input, 672)));
}
const keygenAgrees = (candidate: MlKem768Keygen): boolean => {
  const mine = candidate(fixedSeed);
  const reference = ml_kem768.keygen(fixedSeed);
  return equal(mine.publicKey, reference.publicKey) && equal(mine.secretKey, reference.secretKey);
};
const decapsulateAgrees = (candidate: MlKem768Decapsulate): boolean => {
  const { publicKey, secretKey } = ml_kem768.keygen(fixedSeed);
  const { cipherText } = ml_kem768.encapsulate(publicKey, fixedSeed.subarray(0, 32));
  const tampered = cipherText.slice();
  tampered[0] ^= 1;
  return [cipherText, tampered].every((c) => equal(candidate(c, secretKey), ml_kem768.decapsulate(c, secretKey)));
};

/** The first candidate present that agrees with noble (a throwing check counts as disagreeing), else noble. */
function firstAgreeing<T>(candidates: readonly (Provided<T> | undefined)[], agrees: (run: T) => boolean, noble: T): Provided<T> {
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    try {
      if (agrees(candidate.run)) return candidate;
    } catch {
      // a provider that throws on the fixed inputs is not used
    }
  }
  return { provider: 'noble', run: noble };
}

const hasNodeKeccak = ['sha3-256', 'sha3-512', 'shake128', 'shake256'].every((h) => nodeCrypto.getHashes().includes(h));
/** Chosen at load (the check is a few hashes of 34 bytes). */
export const mlKem768Keccak: Provided<MlKem768Keccak> = firstAgreeing(
  [hasNodeKeccak ? { provider: 'node:crypto', run: nodeKeccak } : undefined],
  keccakAgrees,
  nobleKeccak,
);

const nativeKeygenCandidate: Provided<MlKem768Keygen> | undefined =
  nativeDecapsulate === undefined ? undefined : { provider: 'node:crypto', run: nativeKeygen };
const decapsulateCandidates: (Provided<MlKem768Decapsulate> | undefined)[] = [
  liboqs === undefined ? undefined : { provider: 'liboqs-wasm', run: (ciphertext, secretKey) => liboqs.decapsulate(ciphertext, secretKey) },
  nativeDecapsulate === undefined ? undefined : {
    provider: 'node:crypto',
    run: (ciphertext, secretKey) => new Uint8Array(nativeDecapsulate(importPrivateKey(PKCS8_EXPANDED_PREFIX, secretKey), ciphertext)),
  },
];
let keygen: Provided<MlKem768Keygen> | undefined;
let decapsulate: Provided<MlKem768Decapsulate> | undefined;

/** Chosen on first use. */
export function mlKem768Keygen(): Provided<MlKem768Keygen> {
  return (keygen ??= firstAgreeing([nativeKeygenCandidate], keygenAgrees, ml_kem768.keygen));
}
/** Chosen on first use. */
export function mlKem768Decapsulate(): Provided<MlKem768Decapsulate> {
  return (decapsulate ??= firstAgreeing(decapsulateCandidates, decapsulateAgrees, ml_kem768.decapsulate));
}

/** Which provider serves what, for a result file's environment. */
export function mlKem768Providers(): Record<'keccak' | 'keygen' | 'decapsulate', string> {
  return { keccak: mlKem768Keccak.provider, keygen: mlKem768Keygen().provider, decapsulate: mlKem768Decapsulate().provider };
}

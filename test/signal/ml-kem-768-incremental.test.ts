/**
 * Incremental ML-KEM-768 (spqr.md §7) against @noble/post-quantum's one-shot FIPS 203
 * ML-KEM-768: encaps1 + encaps2 must be the same bytes as Encaps_internal(t̂ ‖ ρ, m).
 */
import * as nodeCrypto from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { sha3_256, sha3_512, shake128, shake256 } from '@noble/hashes/sha3.js';
import {
  CT1_BYTES,
  CT2_BYTES,
  DECAPSULATION_KEY_BYTES,
  ENCAPSULATION_KEY_VECTOR_BYTES,
  ENCAPSULATION_STATE_BYTES,
  HEADER_BYTES,
  decapsulate,
  encapsulateFirst,
  encapsulateSecond,
  encapsulationKeyMatchesHeader,
  generateBraidKeyPair,
  keyGenerationInternal,
  type BraidKeyPair,
} from '../../src/signal/ml-kem-768-incremental.js';
import { SignalError } from '../../src/signal/errors.js';
import { mlKem768Decapsulate, mlKem768Keccak, mlKem768Keygen, mlKem768Providers } from '../../src/crypto/ml-kem-768.js';

/** Reproducible "random" bytes: SHAKE256(label ‖ counter). */
function fixedRandom(label: string, counter: number, length: number): Uint8Array {
  return shake256(new TextEncoder().encode(`${label}/${counter}`), { dkLen: length });
}

const ekOf = (keys: BraidKeyPair): Uint8Array => {
  const ek = new Uint8Array(ENCAPSULATION_KEY_VECTOR_BYTES + 32);
  ek.set(keys.encapsulationKeyVector);
  ek.set(keys.header.subarray(0, 32), ENCAPSULATION_KEY_VECTOR_BYTES);
  return ek;
};
const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};
const isErroneousData = (e: unknown): boolean => e instanceof SignalError && e.kind === 'spqr-erroneous-data';

test('encapsulateFirst + encapsulateSecond equal one-shot ML-KEM-768 encapsulation byte for byte, and decapsulate recovers the secret', () => {
  for (let round = 0; round < 24; round++) {
    const keys = generateBraidKeyPair(fixedRandom('keygen', round, 64));
    const m = fixedRandom('m', round, 32);
    const first = encapsulateFirst(keys.header, m);
    const ct2 = encapsulateSecond(first.encapsulationState, keys.header, keys.encapsulationKeyVector);
    assert.equal(first.ct1.length, CT1_BYTES);
    assert.equal(ct2.length, CT2_BYTES);
    assert.equal(first.encapsulationState.length, ENCAPSULATION_STATE_BYTES);

    const reference = ml_kem768.encapsulate(ekOf(keys), m);
    assert.deepEqual(concat(first.ct1, ct2), reference.cipherText, `ciphertext, round ${round}`);
    assert.deepEqual(first.sharedSecret, reference.sharedSecret, `shared secret, round ${round}`);
    assert.deepEqual(decapsulate(keys.decapsulationKey, first.ct1, ct2), first.sharedSecret);
  }
});

/** Coefficients SampleNTT accepts from the first three SHAKE128 blocks (FIPS 203 Alg. 7). */
function acceptedInThreeBlocks(rho: Uint8Array, b32: number, b33: number): number {
  const stream = shake128(concat(rho, new Uint8Array([b32, b33])), { dkLen: 504 });
  let accepted = 0;
  for (let p = 0; p < 504; p += 3) {
    if ((stream[p] | ((stream[p + 1] & 0x0f) << 8)) < 3329) accepted++;
    if (((stream[p + 1] >> 4) | (stream[p + 2] << 4)) < 3329) accepted++;
  }
  return accepted;
}

test('a ρ whose matrix needs a fourth SHAKE128 block still gives one-shot ML-KEM-768 bytes', () => {
  let rho: Uint8Array | undefined;
  for (let c = 0; rho === undefined; c++) {
    const candidate = fixedRandom('rho', c, 32);
    if ([0, 1, 2].some((i) => [0, 1, 2].some((j) => acceptedInThreeBlocks(candidate, i, j) < 256))) rho = candidate;
  }
  const tHat = generateBraidKeyPair(fixedRandom('long-stream', 0, 64)).encapsulationKeyVector;
  const ek = concat(tHat, rho);
  const header = concat(rho, sha3_256(ek));
  const m = fixedRandom('long-stream-m', 0, 32);
  const first = encapsulateFirst(header, m);
  const ct2 = encapsulateSecond(first.encapsulationState, header, tHat);
  const reference = ml_kem768.encapsulate(ek, m);
  assert.deepEqual(concat(first.ct1, ct2), reference.cipherText);
  assert.deepEqual(first.sharedSecret, reference.sharedSecret);
});

test('without a message, encapsulation draws fresh randomness and still decapsulates', () => {
  const keys = generateBraidKeyPair();
  const a = encapsulateFirst(keys.header);
  const b = encapsulateFirst(keys.header);
  assert.notDeepEqual(a.sharedSecret, b.sharedSecret);
  const ct2 = encapsulateSecond(a.encapsulationState, keys.header, keys.encapsulationKeyVector);
  assert.deepEqual(decapsulate(keys.decapsulationKey, a.ct1, ct2), a.sharedSecret);
});

test('key generation: the seed (d ‖ z) is FIPS KeyGen_internal, and header = ρ ‖ SHA3-256(t̂ ‖ ρ), not ρ ‖ SHA3-256(ρ ‖ t̂)', () => {
  const seed = fixedRandom('header', 0, 64);
  const keys = generateBraidKeyPair(seed);
  const reference = ml_kem768.keygen(seed);
  assert.equal(keys.header.length, HEADER_BYTES);
  assert.equal(keys.decapsulationKey.length, DECAPSULATION_KEY_BYTES);
  assert.deepEqual(keys.decapsulationKey, reference.secretKey);
  assert.deepEqual(ekOf(keys), reference.publicKey);
  const tHat = reference.publicKey.subarray(0, ENCAPSULATION_KEY_VECTOR_BYTES);
  const rho = reference.publicKey.subarray(ENCAPSULATION_KEY_VECTOR_BYTES);
  assert.deepEqual(keys.header.subarray(0, 32), rho);
  assert.deepEqual(keys.header.subarray(32), sha3_256(concat(tHat, rho)));
  assert.notDeepEqual(keys.header.subarray(32), sha3_256(concat(rho, tHat)));
  assert.ok(encapsulationKeyMatchesHeader(keys.header, keys.encapsulationKeyVector));
  assert.deepEqual(generateBraidKeyPair(seed), keys, 'deterministic in the seed');
});

test('a tampered ct1 or ct2 decapsulates to the implicit-rejection secret SHAKE256(z ‖ c, 32)', () => {
  const keys = generateBraidKeyPair(fixedRandom('tamper', 0, 64));
  const first = encapsulateFirst(keys.header, fixedRandom('tamper-m', 0, 32));
  const ct2 = encapsulateSecond(first.encapsulationState, keys.header, keys.encapsulationKeyVector);
  const z = keys.decapsulationKey.subarray(DECAPSULATION_KEY_BYTES - 32);
  for (const [which, position] of [['ct1', 17], ['ct2', CT1_BYTES + 100]] as const) {
    const ciphertext = concat(first.ct1, ct2);
    ciphertext[position] ^= 0x04;
    const secret = decapsulate(keys.decapsulationKey, ciphertext.subarray(0, CT1_BYTES), ciphertext.subarray(CT1_BYTES));
    assert.notDeepEqual(secret, first.sharedSecret, which);
    assert.deepEqual(secret, shake256(concat(z, ciphertext), { dkLen: 32 }), which);
  }
});

test('an encapsulation key that does not match the header is refused', () => {
  const keys = generateBraidKeyPair(fixedRandom('mismatch', 0, 64));
  const other = generateBraidKeyPair(fixedRandom('mismatch', 1, 64));
  const first = encapsulateFirst(keys.header, fixedRandom('mismatch-m', 0, 32));
  const flipped = keys.encapsulationKeyVector.slice();
  flipped[500] ^= 1;
  for (const vector of [other.encapsulationKeyVector, flipped]) {
    assert.equal(encapsulationKeyMatchesHeader(keys.header, vector), false);
    assert.throws(() => encapsulateSecond(first.encapsulationState, keys.header, vector), isErroneousData);
  }
  assert.equal(encapsulationKeyMatchesHeader(keys.header, keys.encapsulationKeyVector.subarray(1)), false);

  // A t̂ with a coefficient ≥ q whose header hash does match: only the FIPS 203 modulus check refuses it.
  const outOfRange = keys.encapsulationKeyVector.slice();
  outOfRange[0] = 0xff;
  outOfRange[1] = (outOfRange[1] & 0xf0) | 0x0f; // first 12-bit word = 4095
  const rho = keys.header.subarray(0, 32);
  const header = concat(rho, sha3_256(concat(outOfRange, rho)));
  assert.equal(encapsulationKeyMatchesHeader(header, outOfRange), false);
  const state = encapsulateFirst(header, fixedRandom('mismatch-m', 1, 32)).encapsulationState;
  assert.throws(() => encapsulateSecond(state, header, outOfRange), isErroneousData);
});

test('malformed headers, states and ciphertexts are refused with spqr-erroneous-data', () => {
  const keys = generateBraidKeyPair(fixedRandom('malformed', 0, 64));
  const first = encapsulateFirst(keys.header, fixedRandom('malformed-m', 0, 32));
  const ct2 = encapsulateSecond(first.encapsulationState, keys.header, keys.encapsulationKeyVector);
  assert.throws(() => encapsulateFirst(keys.header.subarray(0, 63)), isErroneousData);
  assert.throws(() => encapsulateFirst(keys.header, new Uint8Array(31)), isErroneousData);
  assert.throws(() => generateBraidKeyPair(new Uint8Array(32)), isErroneousData);

  const secondWith = (state: Uint8Array) => () => encapsulateSecond(state, keys.header, keys.encapsulationKeyVector);
  assert.throws(secondWith(first.encapsulationState.subarray(1)), isErroneousData);
  const badRHat = first.encapsulationState.slice();
  badRHat[0] = 0xff;
  badRHat[1] |= 0x0f;
  assert.throws(secondWith(badRHat), isErroneousData);
  const badE2 = first.encapsulationState.slice();
  badE2[1152] = 0x05; // e2 + 2 must be 0..4
  assert.throws(secondWith(badE2), isErroneousData);
  assert.deepEqual(secondWith(first.encapsulationState)(), ct2, 'the refusals left the state usable');

  assert.throws(() => decapsulate(keys.decapsulationKey, first.ct1.subarray(1), ct2), isErroneousData);
  assert.throws(() => decapsulate(keys.decapsulationKey, first.ct1, concat(ct2, new Uint8Array(1))), isErroneousData);
  assert.throws(() => decapsulate(keys.decapsulationKey.subarray(1), first.ct1, ct2), isErroneousData);
  const badDk = keys.decapsulationKey.slice();
  badDk[2000] ^= 1; // the embedded ek no longer hashes to the embedded H(ek) (FIPS 203 §7.3)
  assert.throws(() => decapsulate(badDk, first.ct1, ct2), isErroneousData);
});

test('key generation, decapsulation and SHA-3 come from node:crypto or liboqs where present, with noble\'s bytes', () => {
  const nativeKem = typeof (nodeCrypto as { decapsulate?: unknown }).decapsulate === 'function';
  assert.deepEqual(mlKem768Providers(), { keccak: 'node:crypto', keygen: nativeKem ? 'node:crypto' : 'noble', decapsulate: 'liboqs-wasm' });
  const keygen = mlKem768Keygen().run;
  const decapsulateWith = mlKem768Decapsulate().run;
  const keccak = mlKem768Keccak.run;
  for (let round = 0; round < 6; round++) {
    const seed = fixedRandom('provider', round, 64);
    const reference = ml_kem768.keygen(seed);
    const keys = keygen(seed);
    assert.deepEqual(keys.publicKey, reference.publicKey);
    assert.deepEqual(keys.secretKey, reference.secretKey);
    const { cipherText } = ml_kem768.encapsulate(reference.publicKey, fixedRandom('provider-m', round, 32));
    const tampered = cipherText.slice();
    tampered[round * 150] ^= 0x10;
    for (const c of [cipherText, tampered]) assert.deepEqual(decapsulateWith(c, keys.secretKey), ml_kem768.decapsulate(c, reference.secretKey));
    assert.deepEqual(keccak.shake128(seed, 504 + 168 * round), shake128(seed, { dkLen: 504 + 168 * round }));
    assert.deepEqual(keccak.sha3_512(seed), sha3_512(seed));
  }
});

test('keyGenerationInternal (FIPS 203 Alg. 16 over this module\'s arithmetic) gives noble\'s ek and dk byte for byte', () => {
  for (let i = 0; i < 24; i++) {
    const seed = fixedRandom('keygen-internal', i, 64);
    const ours = keyGenerationInternal(seed);
    const theirs = ml_kem768.keygen(seed);
    assert.deepEqual(ours.publicKey, theirs.publicKey, `ek of seed ${i}`);
    assert.deepEqual(ours.secretKey, theirs.secretKey, `dk of seed ${i}`);
  }
  assert.throws(() => keyGenerationInternal(new Uint8Array(63)), (e: unknown) => e instanceof SignalError && e.kind === 'spqr-erroneous-data');
});

/**
 * HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869) for short inputs, in plain JavaScript over
 * the SHA-256 compression function (FIPS 180-4 §6.2.2).
 *
 * The Double Ratchet's per-message work is a handful of HMACs over a few hundred bytes at most
 * and two 80-byte HKDFs (signal-wire.md §3). At those sizes node:crypto's `createHmac` and
 * `hkdfSync` cost mostly per-call overhead (a stream object per HMAC, a secret KeyObject per
 * HKDF), so the `node` backend uses these functions for short inputs (limits below) and OpenSSL
 * otherwise (docs/crypto.md has the measurements). Both give the bytes of RFC 2104 / RFC 5869; the
 * known-answer and cross-backend tests hold them to it.
 *
 * Synchronous and non-reentrant: the scratch state below is module-level and is cleared after
 * every call, so no key material outlives the call that used it.
 */

/**
 * HMAC data up to this size (one SHA-256 block after padding) takes the JavaScript path: four
 * compressions, measured as fast as `createHmac`'s per-call overhead alone. Longer data (e.g. a
 * SignalMessage MAC over ~280 bytes) is faster in OpenSSL.
 */
export const SHORT_HMAC_DATA_BYTES = 55;
/** HKDF inputs up to this size (ikm + salt + info) take the JavaScript path. */
export const SHORT_INPUT_BYTES = 1024;
/** HKDF outputs up to this size take the JavaScript path (8 expand blocks). */
export const SHORT_OUTPUT_BYTES = 256;

/** FIPS 180-4 §4.2.2: the 64 round constants. */
const K = Int32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);

/** FIPS 180-4 §5.3.3: the initial hash value H(0). */
const IV = Int32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);

const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;

// Module-level scratch (cleared at the end of every public call).
const schedule = new Int32Array(64);
const tailBlock = new Uint8Array(BLOCK_BYTES);
const keyBlock = new Uint8Array(BLOCK_BYTES);
const innerState = new Int32Array(8);
const outerState = new Int32Array(8);
const prkInner = new Int32Array(8);
const prkOuter = new Int32Array(8);
const innerDigest = new Uint8Array(DIGEST_BYTES);
const prkScratch = new Uint8Array(DIGEST_BYTES);
const expandBlock = new Uint8Array(DIGEST_BYTES);
/** T(i−1) ‖ info ‖ i for infos up to 64 bytes (longer ones get their own array). */
const expandInput = new Uint8Array(DIGEST_BYTES + 64 + 1);

/**
 * FIPS 180-4 §6.2.2: one compression of the 64-byte block at `block[offset]` into `state`.
 * The 64 rounds run eight at a time with the working variables' roles rotated instead of
 * shifted (round j of eight treats the variable that §6.2.2 step 4 calls `a` as the j-th one
 * back), which saves the seven moves per round; T1 = h + Σ1(e) + Ch(e, f, g) + K_t + W_t,
 * d += T1, h = T1 + Σ0(a) + Maj(a, b, c), with Ch and Maj in their equivalent reduced forms.
 * Measured ~10 % faster than the plain loop (docs/measurements.md).
 */
function compress(state: Int32Array, block: Uint8Array, offset: number): void {
  const w = schedule;
  for (let i = 0; i < 16; i++, offset += 4) {
    w[i] = (block[offset]! << 24) | (block[offset + 1]! << 16) | (block[offset + 2]! << 8) | block[offset + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const w15 = w[i - 15]!;
    const w2 = w[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3); // σ0, §4.1.2 (4.6)
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10); // σ1, (4.7)
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  let t: number;
  for (let i = 0; i < 64; i += 8) {
    t = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[i + 0]! + w[i + 0]!) | 0;
    d = (d + t) | 0;
    h = (t + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (c & (a | b)))) | 0;
    t = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + (f ^ (d & (e ^ f))) + K[i + 1]! + w[i + 1]!) | 0;
    c = (c + t) | 0;
    g = (t + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) + ((h & a) | (b & (h | a)))) | 0;
    t = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + (e ^ (c & (d ^ e))) + K[i + 2]! + w[i + 2]!) | 0;
    b = (b + t) | 0;
    f = (t + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & h) | (a & (g | h)))) | 0;
    t = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + (d ^ (b & (c ^ d))) + K[i + 3]! + w[i + 3]!) | 0;
    a = (a + t) | 0;
    e = (t + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) | (h & (f | g)))) | 0;
    t = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + (c ^ (a & (b ^ c))) + K[i + 4]! + w[i + 4]!) | 0;
    h = (h + t) | 0;
    d = (t + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) | (g & (e | f)))) | 0;
    t = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) + (b ^ (h & (a ^ b))) + K[i + 5]! + w[i + 5]!) | 0;
    g = (g + t) | 0;
    c = (t + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) | (f & (d | e)))) | 0;
    t = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + (a ^ (g & (h ^ a))) + K[i + 6]! + w[i + 6]!) | 0;
    f = (f + t) | 0;
    b = (t + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) | (e & (c | d)))) | 0;
    t = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + (h ^ (f & (g ^ h))) + K[i + 7]! + w[i + 7]!) | 0;
    e = (e + t) | 0;
    a = (t + (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) | (d & (b | c)))) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/**
 * Absorbs `data[start..end)` into `state` (which has already absorbed `absorbed` bytes, a
 * multiple of 64), pads (FIPS 180-4 §5.1.1) and writes the 32-byte digest to `out[outOffset..]`.
 * `out` may overlap `data`: the input is fully read before the digest is written.
 */
function finish(state: Int32Array, absorbed: number, data: Uint8Array, start: number, end: number, out: Uint8Array, outOffset: number): void {
  let offset = start;
  for (; end - offset >= BLOCK_BYTES; offset += BLOCK_BYTES) compress(state, data, offset);
  const block = tailBlock;
  const rest = end - offset;
  for (let i = 0; i < rest; i++) block[i] = data[offset + i]!;
  block[rest] = 0x80;
  if (rest >= BLOCK_BYTES - 8) {
    for (let i = rest + 1; i < BLOCK_BYTES; i++) block[i] = 0;
    compress(state, block, 0);
    for (let i = 0; i < 56; i++) block[i] = 0;
  } else {
    for (let i = rest + 1; i < 56; i++) block[i] = 0;
  }
  const bits = (absorbed + end - start) * 8; // < 2^53 for any array length
  const high = Math.floor(bits / 0x1_0000_0000);
  const low = bits >>> 0;
  block[56] = high >>> 24;
  block[57] = high >>> 16;
  block[58] = high >>> 8;
  block[59] = high;
  block[60] = low >>> 24;
  block[61] = low >>> 16;
  block[62] = low >>> 8;
  block[63] = low;
  compress(state, block, 0);
  for (let i = 0; i < 8; i++) {
    const word = state[i]!;
    out[outOffset++] = word >>> 24;
    out[outOffset++] = word >>> 16;
    out[outOffset++] = word >>> 8;
    out[outOffset++] = word;
  }
}

/** Copies an 8-word hash state (a loop: cheaper than TypedArray#set at this size). */
function copyState(target: Int32Array, source: Int32Array): void {
  for (let i = 0; i < 8; i++) target[i] = source[i]!;
}

function zeroState(state: Int32Array): void {
  for (let i = 0; i < 8; i++) state[i] = 0;
}

/** RFC 2104 §2 steps (1)–(2) and (5): the states after absorbing K ⊕ ipad and K ⊕ opad. */
function keyStates(key: Uint8Array, inner: Int32Array, outer: Int32Array): void {
  let k = key;
  if (k.length > BLOCK_BYTES) {
    // RFC 2104 §2: keys longer than B bytes are first hashed.
    k = new Uint8Array(DIGEST_BYTES);
    inner.set(IV);
    finish(inner, 0, key, 0, key.length, k, 0);
  }
  const block = keyBlock;
  block.fill(0x36);
  for (let i = 0; i < k.length; i++) block[i] = k[i]! ^ 0x36;
  copyState(inner, IV);
  compress(inner, block, 0);
  block.fill(0x5c);
  for (let i = 0; i < k.length; i++) block[i] = k[i]! ^ 0x5c;
  copyState(outer, IV);
  compress(outer, block, 0);
  block.fill(0);
  if (k !== key) k.fill(0);
}

/** HMAC(K, text[start..end)) from the two key states; writes 32 bytes to `out[outOffset..]`. */
function macFromStates(
  inner: Int32Array,
  outer: Int32Array,
  text: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outOffset: number,
): void {
  finish(inner, BLOCK_BYTES, text, start, end, innerDigest, 0); // H(K ⊕ ipad, text)
  finish(outer, BLOCK_BYTES, innerDigest, 0, DIGEST_BYTES, out, outOffset); // H(K ⊕ opad, H(K ⊕ ipad, text))
}

/** After an HMAC: everything it touched. */
function clearHmacScratch(): void {
  schedule.fill(0);
  tailBlock.fill(0);
  innerDigest.fill(0);
  zeroState(innerState);
  zeroState(outerState);
}

/** After an HKDF: everything. */
function clearScratch(): void {
  schedule.fill(0);
  tailBlock.fill(0);
  innerDigest.fill(0);
  prkScratch.fill(0);
  expandBlock.fill(0);
  expandInput.fill(0);
  zeroState(innerState);
  zeroState(outerState);
  zeroState(prkInner);
  zeroState(prkOuter);
}

/** The key states of the all-zero (or empty) key: HKDF's default salt (RFC 5869 §2.2). Public. */
const zeroKeyInner = new Int32Array(8);
const zeroKeyOuter = new Int32Array(8);
keyStates(new Uint8Array(0), zeroKeyInner, zeroKeyOuter);

/** RFC 2104 HMAC-SHA256; any key length (keys over 64 bytes are hashed first). */
export function hmacSha256Short(key: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(DIGEST_BYTES);
  keyStates(key, innerState, outerState);
  macFromStates(innerState, outerState, data, 0, data.length, out, 0);
  clearHmacScratch();
  return out;
}

/** RFC 5869 HKDF-SHA256; an empty salt acts as HashLen zero bytes (§2.2), as HMAC pads it so. */
export function hkdfSha256Short(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const okm = new Uint8Array(length);
  if (length === 0) return okm;
  // §2.2 extract: PRK = HMAC-Hash(salt, IKM); the empty salt's key states are precomputed.
  const prk = prkScratch;
  if (salt.length === 0) {
    copyState(innerState, zeroKeyInner);
    copyState(outerState, zeroKeyOuter);
  } else {
    keyStates(salt, innerState, outerState);
  }
  macFromStates(innerState, outerState, ikm, 0, ikm.length, prk, 0);
  keyStates(prk, prkInner, prkOuter);
  // §2.3 expand: T(i) = HMAC-Hash(PRK, T(i−1) ‖ info ‖ i), OKM = first L bytes of T(1) ‖ T(2) ‖ …
  const blocks = Math.ceil(length / DIGEST_BYTES);
  const messageLength = DIGEST_BYTES + info.length + 1;
  const message = messageLength <= expandInput.length ? expandInput : new Uint8Array(messageLength);
  message.set(info, DIGEST_BYTES);
  const t = expandBlock;
  for (let i = 1; i <= blocks; i++) {
    message[messageLength - 1] = i;
    copyState(innerState, prkInner);
    copyState(outerState, prkOuter);
    macFromStates(innerState, outerState, message, i === 1 ? DIGEST_BYTES : 0, messageLength, t, 0);
    const at = (i - 1) * DIGEST_BYTES;
    if (at + DIGEST_BYTES <= length) okm.set(t, at);
    else for (let j = 0; at + j < length; j++) okm[at + j] = t[j]!;
    for (let j = 0; j < DIGEST_BYTES; j++) message[j] = t[j]!;
  }
  if (message !== expandInput) message.fill(0);
  clearScratch();
  return okm;
}

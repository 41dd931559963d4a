/**
 * The systematic Reed–Solomon code over GF(2^16) that SPQR's braid chunks its payloads with
 * (spqr.md §8). A payload of n·32 bytes is read as big-endian u16 elements; element i is the
 * value of lane polynomial P_(i mod 16) at x = ⌊i/16⌋. Chunk c is P_0(c) ‖ … ‖ P_15(c), each
 * big-endian: chunks 0..n−1 are the payload itself, chunks ≥ n are parity, and any n distinct
 * chunks rebuild the payload.
 *
 * Lagrange evaluation in barycentric form, with logarithms throughout:
 *   P(x) = Σ_k y_k · L_k(x),  L_k(x) = ℓ(x) · w_k / (x − x_k),  ℓ(x) = Π_m (x − x_m),
 *   w_k = 1 / Π_(m≠k) (x_k − x_m)
 * The weights for the encoder's nodes 0..n−1 are cached per n at module level (the V1 sizes
 * precomputed); an encoder caches log y per instance, so a parity chunk costs n·16 table look-ups.
 */
import { SignalError } from './errors.js';

export const CHUNK_BYTES = 32;
export const MAX_CHUNK_INDEX = 0xffff;
const LANES = CHUNK_BYTES / 2;
const ORDER = 0xffff; // size of GF(2^16)'s multiplicative group
/** x^16 + x^12 + x^3 + x + 1 */
const REDUCTION_POLYNOMIAL = 0x1100b;

// log/exp tables for the generator x = 2; EXP is doubled so a sum of two logs needs no reduction.
const EXP = new Uint16Array(2 * ORDER);
const LOG = new Int32Array(1 << 16);
{
  let v = 1;
  for (let i = 0; i < ORDER; i++) {
    EXP[i] = EXP[i + ORDER] = v;
    LOG[v] = i;
    v <<= 1;
    if (v & 0x10000) v ^= REDUCTION_POLYNOMIAL;
  }
  LOG[0] = -1; // log 0 is undefined; callers skip zero terms
}

const logMod = (a: number): number => ((a % ORDER) + ORDER) % ORDER;

/** log w_k for the nodes xs (distinct field elements). */
function barycentricLogWeights(xs: ArrayLike<number>): Int32Array {
  const weights = new Int32Array(xs.length);
  for (let k = 0; k < xs.length; k++) {
    let logDenominator = 0;
    for (let m = 0; m < xs.length; m++) if (m !== k) logDenominator += LOG[xs[k] ^ xs[m]];
    weights[k] = logMod(-logDenominator);
  }
  return weights;
}

/** log L_k(x) for x not among the nodes. */
function lagrangeLogCoefficients(xs: ArrayLike<number>, logWeights: Int32Array, x: number): Int32Array {
  let logNodePolynomial = 0; // log ℓ(x)
  for (let m = 0; m < xs.length; m++) logNodePolynomial += LOG[x ^ xs[m]];
  const coefficients = new Int32Array(xs.length);
  for (let k = 0; k < xs.length; k++) {
    coefficients[k] = logMod(logNodePolynomial + logWeights[k] - LOG[x ^ xs[k]]);
  }
  return coefficients;
}

/** Σ_k L_k(x) · y_(k, lane) for every lane, as one 32-byte chunk; logY is k-major, −1 for y = 0. */
function evaluateLanes(logCoefficients: Int32Array, logY: Int32Array, into: Uint8Array, offset: number): void {
  for (let lane = 0; lane < LANES; lane++) {
    let sum = 0;
    for (let k = 0; k < logCoefficients.length; k++) {
      const logy = logY[k * LANES + lane];
      if (logy >= 0) sum ^= EXP[logCoefficients[k] + logy];
    }
    into[offset + 2 * lane] = sum >> 8;
    into[offset + 2 * lane + 1] = sum & 0xff;
  }
}

/** log of every big-endian u16 of the given 32-byte chunks, k-major (chunk k, lane j at k·16 + j). */
function logElements(chunks: readonly Uint8Array[]): Int32Array {
  const logY = new Int32Array(chunks.length * LANES);
  chunks.forEach((chunk, k) => {
    for (let lane = 0; lane < LANES; lane++) logY[k * LANES + lane] = LOG[(chunk[2 * lane] << 8) | chunk[2 * lane + 1]];
  });
  return logY;
}

const systematicNodes = (n: number): Uint16Array => Uint16Array.from({ length: n }, (_, k) => k);
const systematicWeights = new Map<number, Int32Array>();
function systematicLogWeights(n: number): Int32Array {
  let weights = systematicWeights.get(n);
  if (weights === undefined) {
    weights = barycentricLogWeights(systematicNodes(n));
    systematicWeights.set(n, weights);
  }
  return weights;
}
for (const n of [3, 5, 30, 36]) systematicLogWeights(n); // hdr‖mac, ct2‖mac, ct1, ek (spqr.md §8)

function pointsPerLane(payloadBytes: number): number {
  if (!Number.isInteger(payloadBytes) || payloadBytes <= 0 || payloadBytes % CHUNK_BYTES !== 0
    || payloadBytes / CHUNK_BYTES > MAX_CHUNK_INDEX + 1) {
    throw new SignalError('spqr-erroneous-data', `erasure code: payload of ${payloadBytes} bytes is not a positive multiple of ${CHUNK_BYTES}`);
  }
  return payloadBytes / CHUNK_BYTES;
}

function requireChunkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_CHUNK_INDEX) {
    throw new SignalError('spqr-erroneous-data', `erasure code: chunk index ${index} outside 0..${MAX_CHUNK_INDEX}`);
  }
}

const chunkOf = (payload: Uint8Array, k: number): Uint8Array => payload.subarray(k * CHUNK_BYTES, (k + 1) * CHUNK_BYTES);

/** Chunk `index` (0..65535) of `payload` (a multiple of 32 bytes): systematic for index < payload.length/32, parity above. */
export class ChunkEncoder {
  readonly payload: Uint8Array;
  readonly #n: number;
  #logY: Int32Array | undefined;

  constructor(payload: Uint8Array) {
    this.#n = pointsPerLane(payload.length);
    this.payload = Uint8Array.from(payload);
  }

  chunk(index: number): Uint8Array {
    requireChunkIndex(index);
    if (index < this.#n) return chunkOf(this.payload, index).slice();
    this.#logY ??= logElements(Array.from({ length: this.#n }, (_, k) => chunkOf(this.payload, k)));
    const coefficients = lagrangeLogCoefficients(systematicNodes(this.#n), systematicLogWeights(this.#n), index);
    const chunk = new Uint8Array(CHUNK_BYTES);
    evaluateLanes(coefficients, this.#logY, chunk, 0);
    return chunk;
  }
}

/**
 * Collects chunks of a payload of known length; any n distinct indices rebuild it. The keep rule
 * is libsignal's (spqr.md §8): a chunk is kept if its index is below n or fewer than n are held;
 * a repeated index is ignored; the payload is decoded from the n smallest indices held.
 */
export class ChunkDecoder {
  readonly payloadBytes: number;
  readonly #n: number;
  /** index → chunk, in arrival order (serialize keeps that order so deserialize can replay it) */
  readonly #chunks = new Map<number, Uint8Array>();
  #payload: Uint8Array | undefined;

  constructor(payloadBytes: number) {
    this.#n = pointsPerLane(payloadBytes);
    this.payloadBytes = payloadBytes;
  }

  /** SignalError('spqr-erroneous-data') for an index > 65535 or a chunk length ≠ 32; duplicates ignored. */
  add(index: number, chunk: Uint8Array): void {
    requireChunkIndex(index);
    if (!(chunk instanceof Uint8Array) || chunk.length !== CHUNK_BYTES) {
      throw new SignalError('spqr-erroneous-data', `erasure code: chunk of ${chunk?.length} bytes, expected ${CHUNK_BYTES}`);
    }
    this.#keep(index, chunk);
  }

  #keep(index: number, chunk: Uint8Array): boolean {
    if (this.#chunks.has(index) || (index >= this.#n && this.#chunks.size >= this.#n)) return false;
    this.#chunks.set(index, Uint8Array.from(chunk));
    this.#payload = undefined;
    return true;
  }

  get complete(): boolean {
    return this.#chunks.size >= this.#n;
  }

  /** The payload once complete (a fresh copy), undefined before. */
  payload(): Uint8Array | undefined {
    if (!this.complete) return undefined;
    this.#payload ??= this.#decode();
    return this.#payload.slice();
  }

  #decode(): Uint8Array {
    const n = this.#n;
    const nodes = Uint16Array.from([...this.#chunks.keys()].sort((a, b) => a - b).slice(0, n));
    const nodeChunks = Array.from(nodes, (x) => this.#chunks.get(x)!);
    const payload = new Uint8Array(n * CHUNK_BYTES);
    let logY: Int32Array | undefined;
    let logWeights: Int32Array | undefined;
    for (let target = 0; target < n; target++) {
      const held = this.#chunks.get(target); // a held index below n is always among the n smallest
      if (held !== undefined) {
        payload.set(held, target * CHUNK_BYTES);
        continue;
      }
      logY ??= logElements(nodeChunks);
      logWeights ??= barycentricLogWeights(nodes);
      evaluateLanes(lagrangeLogCoefficients(nodes, logWeights, target), logY, payload, target * CHUNK_BYTES);
    }
    return payload;
  }

  /** u32 payloadBytes ‖ u32 count ‖ count × (u16 index ‖ 32-byte chunk), in arrival order; versioned by the caller. */
  serialize(): Uint8Array {
    const bytes = new Uint8Array(8 + this.#chunks.size * (2 + CHUNK_BYTES));
    const view = new DataView(bytes.buffer);
    view.setUint32(0, this.payloadBytes);
    view.setUint32(4, this.#chunks.size);
    let offset = 8;
    for (const [index, chunk] of this.#chunks) {
      view.setUint16(offset, index);
      bytes.set(chunk, offset + 2);
      offset += 2 + CHUNK_BYTES;
    }
    return bytes;
  }

  /** Throws SignalError('invalid-message') on anything `serialize` cannot have produced. */
  static deserialize(bytes: Uint8Array): ChunkDecoder {
    const malformed = (why: string) => new SignalError('invalid-message', `chunk decoder state: ${why}`);
    if (!(bytes instanceof Uint8Array) || bytes.length < 8) throw malformed('truncated');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const payloadBytes = view.getUint32(0);
    const count = view.getUint32(4);
    if (bytes.length !== 8 + count * (2 + CHUNK_BYTES)) throw malformed('length does not match the chunk count');
    let decoder: ChunkDecoder;
    try {
      decoder = new ChunkDecoder(payloadBytes);
    } catch {
      throw malformed(`payload length ${payloadBytes}`);
    }
    for (let offset = 8; offset < bytes.length; offset += 2 + CHUNK_BYTES) {
      const index = view.getUint16(offset);
      if (!decoder.#keep(index, bytes.subarray(offset + 2, offset + 2 + CHUNK_BYTES))) {
        throw malformed(`chunk ${index} repeated or beyond what the keep rule holds`);
      }
    }
    return decoder;
  }

  clone(): ChunkDecoder {
    const copy = new ChunkDecoder(this.payloadBytes);
    for (const [index, chunk] of this.#chunks) copy.#chunks.set(index, chunk); // chunks are never mutated
    copy.#payload = this.#payload;
    return copy;
  }
}

/**
 * The GF(2^16) erasure code (spqr.md §8): systematic chunks, rebuilding from any n distinct
 * chunks, libsignal's keep rule, bounds, persistence — and the lane layout checked against a
 * naive Lagrange evaluation written here from the field definition alone (no tables).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { shake256 } from '@noble/hashes/sha3.js';
import { CHUNK_BYTES, ChunkDecoder, ChunkEncoder } from '../../src/signal/erasure-code.js';
import { SignalError } from '../../src/signal/errors.js';

const V1_SIZES = [3, 5, 30, 36]; // chunks per hdr‖mac, ct2‖mac, ct1, ek
const payloadOf = (n: number, label: string): Uint8Array =>
  shake256(new TextEncoder().encode(`${label}/${n}`), { dkLen: n * CHUNK_BYTES });

// GF(2^16) mod x^16 + x^12 + x^3 + x + 1, by shift-and-add.
function gfMultiply(a: number, b: number): number {
  let product = 0;
  for (let bit = 15; bit >= 0; bit--) {
    product <<= 1;
    if (product & 0x10000) product ^= 0x1100b;
    if ((b >> bit) & 1) product ^= a;
  }
  return product;
}
function gfInverse(a: number): number {
  let result = 1; // a^(2^16 − 2)
  for (let i = 0; i < 15; i++) result = gfMultiply(gfMultiply(result, result), a);
  return gfMultiply(result, result);
}

/** P_lane(x) through the payload's points, straight from §8: element i → lane i mod 16 at x = ⌊i/16⌋, big-endian. */
function naiveLaneValue(payload: Uint8Array, lane: number, x: number): number {
  const points: [number, number][] = [];
  for (let i = lane; 2 * i < payload.length; i += 16) points.push([Math.floor(i / 16), (payload[2 * i] << 8) | payload[2 * i + 1]]);
  let value = 0;
  for (const [xk, yk] of points) {
    let basis = 1;
    for (const [xm] of points) if (xm !== xk) basis = gfMultiply(basis, gfMultiply(x ^ xm, gfInverse(xk ^ xm)));
    value ^= gfMultiply(yk, basis);
  }
  return value;
}

const isErroneousData = (e: unknown): boolean => e instanceof SignalError && e.kind === 'spqr-erroneous-data';

test('the naive field arithmetic of this test is a field: a · a⁻¹ = 1', () => {
  for (const a of [1, 2, 3, 0x100b, 0x8000, 0xffff, 12345]) assert.equal(gfMultiply(a, gfInverse(a)), 1, String(a));
});

test('systematic chunks are the payload slices; parity chunks match a naive Lagrange evaluation lane by lane', () => {
  for (const n of [1, ...V1_SIZES]) {
    const payload = payloadOf(n, 'layout');
    const encoder = new ChunkEncoder(payload);
    for (let c = 0; c < n; c++) assert.deepEqual(encoder.chunk(c), payload.subarray(32 * c, 32 * c + 32), `n=${n} chunk ${c}`);
    for (const x of [n, n + 1, 131, 4096, 0xffff]) {
      const chunk = encoder.chunk(x);
      const expected = new Uint8Array(CHUNK_BYTES);
      for (let lane = 0; lane < 16; lane++) {
        const value = naiveLaneValue(payload, lane, x);
        expected[2 * lane] = value >> 8;
        expected[2 * lane + 1] = value & 0xff;
      }
      assert.deepEqual(chunk, expected, `n=${n} parity chunk ${x}`);
    }
  }
});

test('any n distinct chunks rebuild the payload: random subsets, parity only, shuffled, with duplicates', () => {
  const encoders = new Map(V1_SIZES.map((n) => [n, new ChunkEncoder(payloadOf(n, 'property'))]));
  fc.assert(
    fc.property(
      fc.constantFrom(...V1_SIZES),
      fc.boolean(),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 40, maxLength: 80 }),
      fc.array(fc.nat(79), { maxLength: 10 }),
      (n, parityOnly, candidates, repeats) => {
        const distinct = [...new Set(candidates.map((x) => (parityOnly ? Math.max(x, n) : x % (3 * n))))];
        fc.pre(distinct.length >= n);
        const chosen = distinct.slice(0, n);
        const arrivals = [...chosen, ...repeats.map((r) => chosen[r % n])]; // already shuffled by the generator
        const encoder = encoders.get(n)!;
        const decoder = new ChunkDecoder(n * CHUNK_BYTES);
        for (const [i, x] of arrivals.entries()) {
          assert.equal(decoder.complete, new Set(arrivals.slice(0, i)).size >= n);
          if (!decoder.complete) assert.equal(decoder.payload(), undefined);
          decoder.add(x, encoder.chunk(x));
        }
        assert.ok(decoder.complete);
        assert.deepEqual(decoder.payload(), encoder.payload);
      },
    ),
    { seed: 0x5e7d, numRuns: 60 },
  );
});

test('the payload is rebuilt from the n smallest indices held; a repeated index keeps its first chunk', () => {
  const n = 5;
  const encoder = new ChunkEncoder(payloadOf(n, 'keep'));
  const forged = new Uint8Array(CHUNK_BYTES).fill(0xa5);
  const decoder = new ChunkDecoder(n * CHUNK_BYTES);
  for (const x of [100, 101, 102, 103]) decoder.add(x, encoder.chunk(x));
  decoder.add(101, forged); // repeated index: ignored
  decoder.add(60000, forged); // fifth point: complete, but forged
  assert.ok(decoder.complete);
  assert.notDeepEqual(decoder.payload(), encoder.payload);
  decoder.add(50, encoder.chunk(50)); // a sixth parity point is not kept (kept, it would displace 60000)
  assert.notDeepEqual(decoder.payload(), encoder.payload);
  decoder.add(2, encoder.chunk(2)); // systematic points are always kept: 60000 drops out of the n smallest
  assert.deepEqual(decoder.payload(), encoder.payload);
});

test('chunk indices outside 0..65535 and chunks of the wrong length are refused without changing the decoder', () => {
  const n = 3;
  const encoder = new ChunkEncoder(payloadOf(n, 'bounds'));
  const decoder = new ChunkDecoder(n * CHUNK_BYTES);
  decoder.add(7, encoder.chunk(7));
  const before = decoder.serialize();
  for (const index of [65536, -1, 1.5, Number.NaN, 2 ** 32]) {
    assert.throws(() => decoder.add(index, encoder.chunk(0)), isErroneousData, `add(${index})`);
    assert.throws(() => encoder.chunk(index), isErroneousData, `chunk(${index})`);
  }
  for (const length of [0, 31, 33, 64]) assert.throws(() => decoder.add(0, new Uint8Array(length)), isErroneousData);
  assert.deepEqual(decoder.serialize(), before);
  assert.deepEqual(encoder.chunk(65535).length, CHUNK_BYTES);
  for (const bytes of [0, 31, 33, 100]) {
    assert.throws(() => new ChunkDecoder(bytes), isErroneousData);
    assert.throws(() => new ChunkEncoder(new Uint8Array(bytes)), isErroneousData);
  }
});

test('serialize / deserialize / clone round-trip a partial decoder, and clones are independent', () => {
  const n = 36;
  const encoder = new ChunkEncoder(payloadOf(n, 'persist'));
  const decoder = new ChunkDecoder(n * CHUNK_BYTES);
  for (let x = 40; x < 60; x++) decoder.add(x, encoder.chunk(x));
  decoder.add(3, encoder.chunk(3));

  const restored = ChunkDecoder.deserialize(decoder.serialize());
  const clone = decoder.clone();
  assert.deepEqual(restored.serialize(), decoder.serialize());
  for (let x = 4; x < 19; x++) clone.add(x, encoder.chunk(x));
  assert.ok(clone.complete);
  assert.equal(decoder.complete, false, 'adding to the clone left the original alone');
  assert.equal(restored.payload(), undefined);
  for (let x = 1000; x < 1015; x++) restored.add(x, encoder.chunk(x));
  assert.deepEqual(restored.payload(), encoder.payload);
  assert.deepEqual(clone.payload(), encoder.payload);
  assert.deepEqual(ChunkDecoder.deserialize(clone.serialize()).payload(), encoder.payload);
});

test('deserialize refuses what serialize cannot have produced', () => {
  const encoder = new ChunkEncoder(payloadOf(3, 'corrupt'));
  const decoder = new ChunkDecoder(96);
  for (const x of [9, 8, 0]) decoder.add(x, encoder.chunk(x));
  const good = decoder.serialize();
  const isInvalid = (e: unknown) => e instanceof SignalError && e.kind === 'invalid-message';
  const repeated = good.slice();
  repeated.set(good.subarray(8, 10), 8 + 34); // second entry gets the first entry's index
  const overfull = new Uint8Array(good.length + 34);
  overfull.set(good);
  overfull[7] = 4;
  overfull.set([0, 10], good.length); // a fourth parity point beyond the keep rule
  const badLength = good.slice();
  badLength[3] = 95;
  for (const bytes of [good.subarray(0, 7), good.subarray(0, good.length - 1), repeated, overfull, badLength]) {
    assert.throws(() => ChunkDecoder.deserialize(bytes), isInvalid);
  }
  assert.deepEqual(ChunkDecoder.deserialize(good).payload(), encoder.payload);
});

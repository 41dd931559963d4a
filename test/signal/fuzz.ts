/** Reproducible fuzz input for the bad-input tests: a seeded generator and byte-string mutations. */
export { seededRandom } from '../../src/harness/statistics/compare-synthetic.js';

/** xorshift32: reproducible fuzz without a dependency. */
export function prng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return {
    int: (n: number) => next() % n,
    bytes: (n: number) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = next() & 0xff;
      return out;
    },
  };
}
export type Rng = ReturnType<typeof prng>;

export function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  switch (rng.int(7)) {
    case 0: {
      const out = input.slice();
      const flips = 1 + rng.int(3);
      for (let i = 0; i < flips && out.length; i++) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    }
    case 1:
      return input.slice(0, rng.int(input.length + 1));
    case 2: {
      const extra = rng.bytes(1 + rng.int(16));
      const out = new Uint8Array(input.length + extra.length);
      out.set(input);
      out.set(extra, input.length);
      return out;
    }
    case 3: {
      const out = input.slice();
      if (out.length === 0) return out;
      const at = rng.int(out.length);
      out.set(rng.bytes(Math.min(1 + rng.int(8), out.length - at)), at);
      return out;
    }
    case 4: {
      const out = input.slice();
      if (out.length) out[rng.int(out.length)] = [0x00, 0xff, 0x80, 0x7f][rng.int(4)]!;
      return out;
    }
    case 5: {
      const at = rng.int(input.length + 1);
      const out = new Uint8Array(input.length + 1);
      out.set(input.subarray(0, at));
      out[at] = rng.int(256);
      out.set(input.subarray(at), at + 1);
      return out;
    }
    default:
      return rng.bytes(rng.int(200));
  }
}

/**
 * Fixed-base Ed25519 scalar multiplication, s·B encoded per RFC 8032 §5.1.2: the one costly
 * step of XEdDSA signing (A = kB and R = rB, XEdDSA §2.3/§3.2).
 *
 * - noble: @noble/curves `Point.BASE.multiply` (constant time, precomputed windows).
 * - libsodium: `crypto_scalarmult_ed25519_base_noclamp` from libsodium-wrappers-sumo
 *   (WebAssembly, constant time); measured ~4.5× faster than noble (docs/measurements.md).
 *   Used by the `node` backend after a load-time self-check against noble.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { numberToBytesLE } from '@noble/curves/utils.js';

/** s·B for 1 ≤ s < q, as the 32-byte Edwards encoding (y with x's sign in bit 255). */
export type EdwardsBaseMultiply = (scalar: bigint) => Uint8Array;

export const nobleBaseMultiply: EdwardsBaseMultiply = (scalar) => ed25519.Point.BASE.multiply(scalar).toBytes();

export interface SelectedBaseMultiply {
  readonly multiply: EdwardsBaseMultiply;
  readonly provider: string;
}

/** libsodium's when it loads and agrees with noble on a few scalars, noble's otherwise. */
export async function selectBaseMultiply(): Promise<SelectedBaseMultiply> {
  try {
    const sodium = (await import('libsodium-wrappers-sumo')).default;
    await sodium.ready;
    const sodiumMultiply: EdwardsBaseMultiply = (scalar) => {
      const scalarBytes = numberToBytesLE(scalar, 32);
      try {
        return sodium.crypto_scalarmult_ed25519_base_noclamp(scalarBytes);
      } finally {
        scalarBytes.fill(0);
      }
    };
    const q = ed25519.Point.Fn.ORDER;
    for (const probe of [1n, 2n, q - 1n, 0x1234567890abcdefn * 0xfedcba0987654321n, q / 3n]) {
      const expected = nobleBaseMultiply(probe);
      const actual = sodiumMultiply(probe);
      if (actual.length !== 32 || !actual.every((byte, i) => byte === expected[i])) throw new Error('mismatch');
    }
    return { multiply: sodiumMultiply, provider: 'libsodium-wrappers-sumo crypto_scalarmult_ed25519_base_noclamp' };
  } catch {
    return { multiply: nobleBaseMultiply, provider: '@noble/curves ed25519.Point.BASE' };
  }
}

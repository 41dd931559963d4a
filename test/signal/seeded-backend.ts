/** A crypto backend whose randomness (random bytes and X25519 key pairs) comes from a fixed seed. */
import type { CryptoBackend } from '../../src/crypto/backend.js';
import { seededRandom } from './fuzz.js';

export function seededBackend(backend: CryptoBackend, seed: number): CryptoBackend {
  const next = seededRandom(seed);
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
  return Object.assign(Object.create(backend) as CryptoBackend, {
    randomBytes,
    x25519GenerateKeyPair: () => {
      const privateKey = randomBytes(32);
      privateKey[0]! &= 248;
      privateKey[31]! &= 127;
      privateKey[31]! |= 64;
      return { privateKey, publicKey: backend.x25519PublicKey(privateKey) };
    },
  });
}

/**
 * The crypto layer: one interface (`CryptoBackend`), two backends giving identical bytes.
 * - `noble`: pure JS (@noble/*), runs anywhere.
 * - `node`: node:crypto (OpenSSL) where it is measured faster, noble elsewhere; see docs/crypto.md.
 */
import type { BackendName, CryptoBackend } from './backend.js';
import { nobleBackend } from './noble.js';
import { nodeBackend } from './node.js';

export type { BackendName, CryptoBackend, KyberEncapsulation, KyberKeyPair, X25519KeyPair } from './backend.js';
export { CryptoError, type CryptoErrorKind } from './errors.js';
export { nobleBackend } from './noble.js';
export { nodeBackend } from './node.js';

export const backendNames: readonly BackendName[] = Object.freeze(['noble', 'node'] as const);

const backends: Record<BackendName, CryptoBackend> = {
  noble: nobleBackend,
  node: nodeBackend,
};

export function getBackend(name: BackendName): CryptoBackend {
  const backend = backends[name];
  if (backend === undefined) throw new RangeError(`unknown crypto backend '${String(name)}' (known: ${backendNames.join(', ')})`);
  return backend;
}

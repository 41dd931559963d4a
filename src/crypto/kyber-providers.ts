/**
 * The Kyber1024 implementations the `node` backend can run on, and the load-time choice
 * between them (docs/measurements.md has the measurements behind the order).
 *
 * 1. `liboqs-wasm`: @oqs/liboqs-js, liboqs compiled to WebAssembly. Its "Kyber1024" is the
 *    round-3 Kyber libsignal speaks (signal-wire.md §4), so no adapter is needed.
 * 2. `node-ml-kem`: node:crypto ML-KEM-1024 (Node ≥ 24.7 with OpenSSL ≥ 3.5), through the
 *    round-3 adapter. Feature-detected.
 * 3. `noble`: @noble/post-quantum ml_kem1024 through the round-3 adapter (always available).
 *
 * A provider other than noble is used only after a load-time self-check shows it agrees with
 * noble in both directions. `SIGLOAD_KYBER_PROVIDER=liboqs-wasm|node-ml-kem|noble` forces one
 * (falling back to noble if the forced one is unavailable).
 */
import * as nodeCrypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { KyberEncapsulation, KyberKeyPair } from './backend.js';
import {
  KYBER1024_CIPHERTEXT_BYTES,
  KYBER1024_PUBLIC_KEY_BYTES,
  KYBER1024_SECRET_KEY_BYTES,
  requireBytes,
} from './input-checks.js';
import { kyber1024Decapsulate, kyber1024Encapsulate, type KeccakHashes, type MlKem1024Core } from './kyber1024.js';
import { nobleKeccak, nobleMlKem1024, randomBytes as nobleRandomBytes } from './noble.js';

export type KyberProviderName = 'liboqs-wasm' | 'node-ml-kem' | 'noble';

export interface Kyber1024Provider {
  readonly name: KyberProviderName;
  /** Human-readable description for `CryptoBackend.providers`. */
  readonly description: string;
  generateKeyPair(): KyberKeyPair;
  encapsulate(publicKey: Uint8Array): KyberEncapsulation;
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

/** Any ML-KEM-1024 core wrapped in the round-3 adapter. */
function adapted(
  name: KyberProviderName,
  description: string,
  core: MlKem1024Core,
  hashes: KeccakHashes,
  randomBytes: (length: number) => Uint8Array,
): Kyber1024Provider {
  return {
    name,
    description,
    generateKeyPair: () => core.generateKeyPair(),
    encapsulate: (publicKey) => kyber1024Encapsulate(core, hashes, randomBytes, publicKey),
    decapsulate: (ciphertext, secretKey) => kyber1024Decapsulate(core, hashes, ciphertext, secretKey),
  };
}

export const nobleKyberProvider: Kyber1024Provider = adapted(
  'noble',
  '@noble/post-quantum ml_kem1024 + round-3 adapter',
  nobleMlKem1024,
  nobleKeccak,
  nobleRandomBytes,
);

// ---- 1. liboqs (WebAssembly) round-3 Kyber1024 -------------------------------------------

interface LiboqsKem {
  generateKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array };
  encapsulate(publicKey: Uint8Array): { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

async function loadLiboqsProvider(): Promise<Kyber1024Provider | undefined> {
  let kem: LiboqsKem;
  try {
    const liboqs = (await import('@oqs/liboqs-js/kem')) as unknown as { createKyber1024(): Promise<LiboqsKem> };
    kem = await liboqs.createKyber1024();
  } catch {
    return undefined;
  }
  return {
    name: 'liboqs-wasm',
    description: '@oqs/liboqs-js Kyber1024 (liboqs round-3 Kyber, WebAssembly)',
    generateKeyPair: () => kem.generateKeyPair(),
    encapsulate(publicKey) {
      requireBytes(publicKey, KYBER1024_PUBLIC_KEY_BYTES, 'Kyber1024 public key', 'invalid-key');
      const { ciphertext, sharedSecret } = kem.encapsulate(publicKey);
      return { ciphertext, sharedSecret };
    },
    decapsulate(ciphertext, secretKey) {
      requireBytes(ciphertext, KYBER1024_CIPHERTEXT_BYTES, 'Kyber1024 ciphertext', 'invalid-length');
      requireBytes(secretKey, KYBER1024_SECRET_KEY_BYTES, 'Kyber1024 secret key', 'invalid-key');
      return kem.decapsulate(ciphertext, secretKey);
    },
  };
}

// ---- 2. node:crypto ML-KEM-1024 (Node ≥ 24.7) -------------------------------------------

interface NativeKem {
  encapsulate(key: KeyObject): { sharedKey: Buffer; ciphertext: Buffer };
  decapsulate(key: KeyObject, ciphertext: Uint8Array): Buffer;
}

/** SubjectPublicKeyInfo for id-alg-ml-kem-1024 (2.16.840.1.101.3.4.4.3), RFC 9935 §4. */
const SPKI_ML_KEM_1024_PREFIX = Buffer.from('30820632300b0609608648016503040403038206210' + '0', 'hex');
/** PKCS#8 PrivateKeyInfo with the `expandedKey` choice of ML-KEM-1024-PrivateKey, RFC 9935 §6. */
const PKCS8_ML_KEM_1024_PREFIX = Buffer.from('30820c78020100300b060960864801650304040304820c6404820c60', 'hex');
const EXPANDED_KEY_HEADER = Buffer.from('04820c60', 'hex');

function nativeMlKemCore(native: NativeKem): MlKem1024Core {
  const importPublic = (publicKey: Uint8Array): KeyObject =>
    nodeCrypto.createPublicKey({ key: Buffer.concat([SPKI_ML_KEM_1024_PREFIX, publicKey]), format: 'der', type: 'spki' });
  const importSecret = (secretKey: Uint8Array): KeyObject => {
    const der = Buffer.concat([PKCS8_ML_KEM_1024_PREFIX, secretKey]);
    try {
      return nodeCrypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } finally {
      der.fill(0);
    }
  };
  return {
    generateKeyPair() {
      const pair = nodeCrypto.generateKeyPairSync('ml-kem-1024' as 'x25519');
      const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
      const pkcs8 = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
      const at = pkcs8.indexOf(EXPANDED_KEY_HEADER);
      if (at < 0 || at + 4 + KYBER1024_SECRET_KEY_BYTES > pkcs8.length) throw new Error('ML-KEM private key export has no expanded key');
      const secretKey = new Uint8Array(pkcs8.subarray(at + 4, at + 4 + KYBER1024_SECRET_KEY_BYTES));
      pkcs8.fill(0);
      return { publicKey: new Uint8Array(spki.subarray(spki.length - KYBER1024_PUBLIC_KEY_BYTES)), secretKey };
    },
    // Node draws m itself, so the round-3 m ← SHA3-256(m) step is skipped (optional, signal-wire.md §4).
    encapsulate(publicKey) {
      const { sharedKey, ciphertext } = native.encapsulate(importPublic(publicKey));
      return { ciphertext: new Uint8Array(ciphertext), sharedSecret: new Uint8Array(sharedKey) };
    },
    decapsulate(ciphertext, secretKey) {
      return new Uint8Array(native.decapsulate(importSecret(secretKey), ciphertext));
    },
  };
}

function nativeMlKemAvailable(): NativeKem | undefined {
  const candidate = nodeCrypto as unknown as Partial<NativeKem>;
  if (typeof candidate.encapsulate !== 'function' || typeof candidate.decapsulate !== 'function') return undefined;
  return candidate as NativeKem;
}

function loadNativeProvider(hashes: KeccakHashes): Kyber1024Provider | undefined {
  const native = nativeMlKemAvailable();
  if (native === undefined) return undefined;
  return adapted('node-ml-kem', 'node:crypto ML-KEM-1024 (OpenSSL) + round-3 adapter', nativeMlKemCore(native), hashes, nobleRandomBytes);
}

// ---- selection -----------------------------------------------------------------------------

/** Both directions against noble: their keys with our ciphertexts and ours with theirs. */
function agreesWithNoble(provider: Kyber1024Provider): boolean {
  try {
    const theirs = provider.generateKeyPair();
    const toThem = nobleKyberProvider.encapsulate(theirs.publicKey);
    if (!equalBytes(provider.decapsulate(toThem.ciphertext, theirs.secretKey), toThem.sharedSecret)) return false;
    const ours = nobleKyberProvider.generateKeyPair();
    const toUs = provider.encapsulate(ours.publicKey);
    return equalBytes(nobleKyberProvider.decapsulate(toUs.ciphertext, ours.secretKey), toUs.sharedSecret);
  } catch {
    return false;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Picks the fastest provider that is present and passes the self-check (top-level await, once per process). */
export async function selectKyberProvider(hashes: KeccakHashes): Promise<Kyber1024Provider> {
  const forced = process.env['SIGLOAD_KYBER_PROVIDER'] as KyberProviderName | undefined;
  const order: KyberProviderName[] = forced !== undefined ? [forced] : ['liboqs-wasm', 'node-ml-kem'];
  for (const name of order) {
    const provider = name === 'liboqs-wasm' ? await loadLiboqsProvider() : name === 'node-ml-kem' ? loadNativeProvider(hashes) : undefined;
    if (provider !== undefined && agreesWithNoble(provider)) return provider;
  }
  return nobleKyberProvider;
}
